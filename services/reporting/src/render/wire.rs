//! The report in its wire form (`dondoc.v1.PeriodicReport`): what `GetPeriodicReport`
//! answers and what every document format is rendered from.

use dondoc_proto::v1 as pb;

use crate::domain::report::{
    Block, Figures, OverdueItem, PeriodicReport, Row as ReportRow, ScoreRow,
};

fn figures_to_proto(f: &Figures) -> pb::ReportFigures {
    pb::ReportFigures {
        assigned: f.assigned,
        completed_on_time: f.completed_on_time,
        completed_late: f.completed_late,
        completed_no_deadline: f.completed_no_deadline,
        in_progress_within_term: f.in_progress_within_term,
        in_progress_no_deadline: f.in_progress_no_deadline,
        overdue: f.overdue,
        cancelled: f.cancelled,
        overdue_pct_of_all: f.overdue_pct_of_all,
        overdue_pct_of_with_deadline: f.overdue_pct_of_with_deadline,
    }
}

fn block_to_proto(b: &Block) -> pb::ReportBlock {
    pb::ReportBlock {
        period: Some(figures_to_proto(&b.period)),
        year_to_date: Some(figures_to_proto(&b.year_to_date)),
        previous_period: Some(figures_to_proto(&b.previous_period)),
    }
}

pub fn overdue_to_proto(o: &OverdueItem) -> pb::OverdueTask {
    pb::OverdueTask {
        task_id: o.task_id.clone(),
        title: o.title.clone(),
        source_document: o.source_document.clone(),
        lead_unit: o.lead_unit.clone(),
        lead_unit_name: o.lead_unit_name.clone(),
        deadline: o.deadline.to_string(),
        working_days_overdue: o.working_days_overdue,
        age_bucket: o.age_bucket.clone(),
        extended: o.extended,
    }
}

pub fn score_to_proto(s: &ScoreRow) -> pb::ScoreRow {
    pb::ScoreRow {
        unit: s.unit.clone(),
        name: s.name.clone(),
        completed_with_deadline: s.completed_with_deadline,
        on_time: s.on_time,
        late: s.late,
        exempt: s.exempt,
        timeliness_pct: s.timeliness_pct,
    }
}

pub fn row_to_proto(r: &ReportRow) -> pb::ReportRow {
    pb::ReportRow {
        key: r.key.clone(),
        name: r.name.clone(),
        figures: Some(figures_to_proto(&r.figures)),
        on_time_rate: r.on_time_rate.unwrap_or_default(),
        has_rate: r.on_time_rate.is_some(),
        rank: r.rank,
    }
}

/// The report for the wire (and for rendering, which works from the wire form).
pub fn wire(r: &PeriodicReport) -> pb::PeriodicReport {
    pb::PeriodicReport {
        title: r.title.clone(),
        from: r.window.0.to_string(),
        to: r.window.1.to_string(),
        year_from: r.year_from.to_string(),
        all: Some(block_to_proto(&r.all)),
        central: Some(block_to_proto(&r.central)),
        units: r.units.iter().map(row_to_proto).collect(),
        leaders: r.leaders.iter().map(row_to_proto).collect(),
        overdue: r.overdue.iter().map(overdue_to_proto).collect(),
        difficulties: r
            .difficulties
            .iter()
            .map(|d| pb::PendingDifficulty {
                task_id: d.task_id.clone(),
                title: d.title.clone(),
                unit: d.unit.clone(),
                unit_name: d.unit_name.clone(),
                description: d.description.clone(),
                reported_on: d.reported_on.to_string(),
                working_days_waiting: d.working_days_waiting,
            })
            .collect(),
        actions: Some(pb::ReportActions {
            reminders: r.actions.reminders,
            criticisms: r.actions.criticisms,
            commendations: r.actions.commendations,
        }),
        cases: Some(pb::ReportCases {
            opened: r.cases.opened,
            decided: r.cases.decided,
            no_discipline: r.cases.no_discipline,
            withdrawn: r.cases.withdrawn,
            by_form: r.cases.by_form.clone().into_iter().collect(),
        }),
        late: r
            .late
            .iter()
            .map(|l| pb::LateFact {
                task_id: l.task_id.clone(),
                title: l.title.clone(),
                what: l.what.clone(),
                effective_on: l.effective_on.to_string(),
                known_on: l.known_on.to_string(),
            })
            .collect(),
        scorecard: r.scorecard.iter().map(score_to_proto).collect(),
        trend: r
            .trend
            .iter()
            .map(|p| pb::TrendPoint {
                title: p.label.clone(),
                from: p.window.0.to_string(),
                to: p.window.1.to_string(),
                assigned: p.figures.assigned,
                completed_on_time: p.figures.completed_on_time,
                completed_late: p.figures.completed_late,
                overdue: p.figures.overdue,
                on_time_rate: p.on_time_rate.unwrap_or_default(),
                has_rate: p.on_time_rate.is_some(),
            })
            .collect(),
        documents: Some(pb::DocumentCounts {
            incoming: r.documents.incoming,
            outgoing: r.documents.outgoing,
            incoming_year_to_date: r.documents.incoming_year_to_date,
            outgoing_year_to_date: r.documents.outgoing_year_to_date,
            outgoing_by_type: r.documents.outgoing_by_type.clone().into_iter().collect(),
            dossiers_closed: r.documents.dossiers_closed,
            dossiers_archived: r.documents.dossiers_archived,
            dossiers_awaiting_close: r.documents.dossiers_awaiting_close,
        }),
    }
}
