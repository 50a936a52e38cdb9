//! Hostile input on every RPC of every service: requests generated from the published
//! descriptors, full of what real clients and attackers send — Vietnamese in both Unicode
//! normal forms, control characters, right-to-left overrides, very long strings, impossible
//! dates, enum values no version defines, empty and huge repeated fields, extreme numbers.
//! Whatever comes in, the answer is success or a clear refusal: never a panic, never INTERNAL,
//! and every event log still verifies afterwards.
//!
//! The requests are built from the `FileDescriptorSet` the servers publish for reflection, so a
//! new RPC or field is covered the day it is added. Each case is reproducible from its seed.

use std::collections::HashMap;
use std::time::Duration;

use bytes::{Buf as _, BufMut as _};
use dondoc_runtime::auth::Role;
use dondoc_tests::{Engine, TestSystem};
use prost::Message as _;
use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{DescriptorProto, FileDescriptorSet};
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use tonic::Code;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};

/// Requests per RPC. Together with the roles rotating per case, every RPC is reached as every
/// role more than once.
const CASES_PER_RPC: u64 = 24;

/// Generated requests stop growing here, under the 4 MiB request limit.
const MAX_BODY: usize = 3 * 1024 * 1024;

/// Sends and receives protobuf bytes as they are, so one client calls every RPC.
#[derive(Clone, Copy, Debug, Default)]
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> Self::Encoder {
        RawCodec
    }

    fn decoder(&mut self) -> Self::Decoder {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Vec<u8>;
    type Error = tonic::Status;

    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Vec<u8>;
    type Error = tonic::Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, tonic::Status> {
        let n = src.remaining();
        Ok(Some(src.copy_to_bytes(n).to_vec()))
    }
}

/// Every message of the published descriptors, by full name (`.dondoc.v1.AssignTaskRequest`).
struct Messages(HashMap<String, DescriptorProto>);

impl Messages {
    fn of(set: &FileDescriptorSet) -> Self {
        fn add(
            prefix: &str,
            message: &DescriptorProto,
            all: &mut HashMap<String, DescriptorProto>,
        ) {
            let name = format!("{prefix}.{}", message.name());
            for nested in &message.nested_type {
                add(&name, nested, all);
            }
            all.insert(name, message.clone());
        }
        let mut all = HashMap::new();
        for file in &set.file {
            let prefix = format!(".{}", file.package());
            for message in &file.message_type {
                add(&prefix, message, &mut all);
            }
        }
        Self(all)
    }
}

/// Strings that have broken systems before, and plausible values that let a request reach
/// deeper than validation (a real unit code, a real date, a leader id).
const HOSTILE: &[&str] = &[
    "",
    " ",
    "Sở Xây dựng thành phố Hải Phòng – báo cáo tiến độ",
    // The same words decomposed (NFD): combining marks after their base letters.
    "So\u{31b} Xa\u{302}y du\u{323}ng",
    "\u{0}\u{7}\u{8}\u{1b}[31m",
    "line\nbreak\r\ntab\t",
    "\u{202e}gnp.exe",
    "\u{feff}\u{200b}\u{200d}",
    "😀🇻🇳",
    "'; DROP TABLE events; --",
    "../../../etc/passwd",
    "%s%n%x{}{0}",
    "<script>alert(1)</script>",
    "2026-02-30",
    "2026-13-01",
    "31/12/2026",
    "0000-00-00",
    "-1",
    "9223372036854775808",
    "NaN",
    "null",
];

const PLAUSIBLE: &[&str] = &[
    "SXD",
    "STC",
    "sxd",
    "2026-11-28",
    "2026-12-31",
    "2027-01-01",
    "ct-nguyen",
    "pct-tran",
    "dondoc.v1.AssignmentService",
    "2026-11",
];

fn string(rng: &mut StdRng) -> String {
    match rng.gen_range(0..10) {
        0 => "Ế".repeat(rng.gen_range(1_000..70_000)),
        1 => uuid::Uuid::now_v7().to_string(),
        2..=5 => PLAUSIBLE[rng.gen_range(0..PLAUSIBLE.len())].to_owned(),
        _ => HOSTILE[rng.gen_range(0..HOSTILE.len())].to_owned(),
    }
}

fn varint(mut value: u64, out: &mut Vec<u8>) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn key(number: i32, wire_type: u64, out: &mut Vec<u8>) {
    varint(((number as u64) << 3) | wire_type, out);
}

fn length_delimited(number: i32, bytes: &[u8], out: &mut Vec<u8>) {
    key(number, 2, out);
    varint(bytes.len() as u64, out);
    out.extend_from_slice(bytes);
}

fn integer(rng: &mut StdRng) -> i64 {
    const EDGES: &[i64] = &[
        0,
        1,
        -1,
        7,
        24,
        31,
        365,
        i32::MAX as i64,
        i32::MIN as i64,
        i64::MAX,
        i64::MIN,
    ];
    if rng.gen_bool(0.7) {
        EDGES[rng.gen_range(0..EDGES.len())]
    } else {
        rng.r#gen()
    }
}

/// A random encoding of `message`: each field present or not, repeated fields empty, single or
/// huge, nested messages down to `depth`.
fn message(messages: &Messages, name: &str, rng: &mut StdRng, depth: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let Some(descriptor) = messages.0.get(name) else {
        // A well-known type the set does not carry (Timestamp): seconds and nanos, any values.
        varint(integer(rng) as u64, &mut out);
        return out;
    };
    for field in &descriptor.field {
        if !rng.gen_bool(0.75) {
            continue;
        }
        let count = if field.label() == Label::Repeated {
            match rng.gen_range(0..6) {
                0 => 0,
                1 => rng.gen_range(200..1_500),
                _ => rng.gen_range(1..4),
            }
        } else {
            1
        };
        for _ in 0..count {
            // Kept under the request size limit, which has a test of its own.
            if out.len() > MAX_BODY {
                break;
            }
            let number = field.number();
            match field.r#type() {
                Type::String => length_delimited(number, string(rng).as_bytes(), &mut out),
                Type::Bytes => {
                    let len = if rng.gen_bool(0.1) {
                        rng.gen_range(100_000..600_000)
                    } else {
                        rng.gen_range(0..64)
                    };
                    let bytes: Vec<u8> = (0..len).map(|_| rng.r#gen()).collect();
                    length_delimited(number, &bytes, &mut out);
                }
                Type::Message if depth < 4 => {
                    let inner = message(messages, field.type_name(), rng, depth + 1);
                    length_delimited(number, &inner, &mut out);
                }
                Type::Message => {}
                Type::Enum => {
                    // Defined values, and ones no version defines.
                    const VALUES: &[i64] = &[0, 1, 2, 3, 4, 5, 99, -1, i32::MAX as i64];
                    key(number, 0, &mut out);
                    varint(VALUES[rng.gen_range(0..VALUES.len())] as u64, &mut out);
                }
                Type::Bool => {
                    key(number, 0, &mut out);
                    varint(rng.gen_range(0..2), &mut out);
                }
                Type::Double | Type::Fixed64 | Type::Sfixed64 => {
                    key(number, 1, &mut out);
                    let value = [f64::NAN, f64::INFINITY, -0.0, 1e308, 0.5][rng.gen_range(0..5)];
                    out.extend_from_slice(&value.to_le_bytes());
                }
                Type::Float | Type::Fixed32 | Type::Sfixed32 => {
                    key(number, 5, &mut out);
                    out.extend_from_slice(&f32::NAN.to_le_bytes());
                }
                Type::Sint32 | Type::Sint64 => {
                    let value = integer(rng);
                    key(number, 0, &mut out);
                    varint(((value << 1) ^ (value >> 63)) as u64, &mut out);
                }
                Type::Uint32 | Type::Int32 => {
                    // Truncated to 32 bits as a conforming encoder would.
                    key(number, 0, &mut out);
                    varint(i64::from(integer(rng) as i32) as u64, &mut out);
                }
                _ => {
                    key(number, 0, &mut out);
                    varint(integer(rng) as u64, &mut out);
                }
            }
        }
    }
    out
}

/// One RPC as the descriptors publish it.
struct Rpc {
    path: String,
    input: String,
    server_streaming: bool,
    service: String,
}

fn rpcs(set: &FileDescriptorSet) -> Vec<Rpc> {
    set.file
        .iter()
        .filter(|file| file.package() == "dondoc.v1")
        .flat_map(|file| {
            file.service.iter().flat_map(move |service| {
                service.method.iter().map(move |method| Rpc {
                    path: format!("/dondoc.v1.{}/{}", service.name(), method.name()),
                    input: method.input_type().to_owned(),
                    server_streaming: method.server_streaming(),
                    service: service.name().to_owned(),
                })
            })
        })
        .collect()
}

/// The answer to one raw call: `Ok` or the refusal's code and message.
async fn call(port: u16, rpc: &Rpc, body: Vec<u8>, token: &str) -> Result<(), (Code, String)> {
    let channel = TestSystem::channel(port).await;
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready()
        .await
        .map_err(|e| (Code::Unavailable, e.to_string()))?;
    let mut request = tonic::Request::new(body);
    request.set_timeout(Duration::from_secs(20));
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("ascii token"),
    );
    let path = http::uri::PathAndQuery::try_from(rpc.path.as_str()).expect("path");
    let status = if rpc.server_streaming {
        match grpc.server_streaming(request, path, RawCodec).await {
            Ok(response) => {
                // The first message (or the end) is enough; a watch would wait for ever.
                let mut stream = response.into_inner();
                match tokio::time::timeout(Duration::from_millis(300), stream.message()).await {
                    Ok(Err(status)) => Err(status),
                    _ => Ok(()),
                }
            }
            Err(status) => Err(status),
        }
    } else {
        grpc.unary(request, path, RawCodec).await.map(|_| ())
    };
    status.map_err(|status| (status.code(), status.message().to_owned()))
}

/// Codes that mean the server failed, not the request.
fn is_a_server_failure(code: Code) -> bool {
    matches!(
        code,
        Code::Internal
            | Code::Unknown
            | Code::DataLoss
            | Code::Unavailable
            | Code::DeadlineExceeded
    )
}

async fn every_service() -> TestSystem {
    every_service_on(Engine::Sqlite)
        .await
        .expect("SQLite is always there")
}

/// Every service on `engine`; `None` when PostgreSQL is not configured.
async fn every_service_on(engine: Engine) -> Option<TestSystem> {
    let mut system = TestSystem::spawn_on(engine).await?;
    system.start_progress().await;
    system.start_escalation().await;
    system.start_discipline().await;
    Some(system)
}

fn port_of(system: &TestSystem, service: &str) -> u16 {
    match service {
        "AssignmentService" | "DiagnosticsService" => system.assignment().port(),
        "ReportingService" => system.reporting().port(),
        "ProgressService" => system.progress().port(),
        "EscalationService" => system.escalation().port(),
        "DisciplineService" => system.discipline().port(),
        other => panic!("a service this test does not know: {other}; add its port"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rpc_answers_hostile_requests_with_success_or_a_clear_refusal_and_the_logs_still_verify()
 {
    hostile_requests_on(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rpc_answers_hostile_requests_on_postgres_too() {
    // PostgreSQL refuses some text SQLite stores (a NUL character): the answer must still be a
    // clear refusal.
    hostile_requests_on(Engine::Postgres).await;
}

async fn hostile_requests_on(engine: Engine) {
    let Some(system) = every_service_on(engine).await else {
        return;
    };
    let set = FileDescriptorSet::decode(dondoc_proto::FILE_DESCRIPTOR_SET).expect("descriptors");
    let messages = Messages::of(&set);
    let rpcs = rpcs(&set);
    let tokens: Vec<String> = Role::ALL.iter().map(|role| system.token(*role)).collect();

    let mut failures = Vec::new();
    let mut answered = 0;
    for (index, rpc) in rpcs.iter().enumerate() {
        let port = port_of(&system, &rpc.service);
        for case in 0..CASES_PER_RPC {
            let seed = (index as u64) << 16 | case;
            let mut rng = StdRng::seed_from_u64(seed);
            let body = message(&messages, &rpc.input, &mut rng, 0);
            let token = &tokens[case as usize % tokens.len()];
            match call(port, rpc, body, token).await {
                Err((code, text)) if is_a_server_failure(code) => {
                    failures.push(format!("{} seed {seed}: {code:?} {text}", rpc.path));
                }
                _ => answered += 1,
            }
        }
    }
    let logs = [
        ("assignment", system.assignment().verify().await),
        ("progress", system.progress().verify().await),
        ("escalation", system.escalation().verify().await),
        ("discipline", system.discipline().verify().await),
    ];

    assert!(rpcs.len() >= 60, "every RPC is covered: {}", rpcs.len());
    assert!(
        failures.is_empty(),
        "{} of {} hostile requests failed on the server's side:\n{}",
        failures.len(),
        failures.len() + answered,
        failures.join("\n")
    );
    for (service, report) in logs {
        let report = report.expect("verify");
        assert!(report.is_intact(), "the {service} log: {report:?}");
    }
}

#[tokio::test]
async fn a_request_over_the_size_limit_is_refused_by_name_on_every_service_before_any_handler_runs()
{
    let system = every_service().await;
    let set = FileDescriptorSet::decode(dondoc_proto::FILE_DESCRIPTOR_SET).expect("descriptors");
    // Field 1 holding 5 MiB: over the 4 MiB limit, whatever the message.
    let mut body = Vec::new();
    length_delimited(1, &vec![b'x'; 5 * 1024 * 1024], &mut body);
    let before = system.assignment().head_position().await.expect("head");

    let mut refusals = Vec::new();
    for service in [
        "AssignmentService",
        "ReportingService",
        "ProgressService",
        "EscalationService",
        "DisciplineService",
    ] {
        let rpc = rpcs(&set)
            .into_iter()
            .find(|rpc| rpc.service == service && !rpc.server_streaming)
            .expect("a unary RPC");
        let port = port_of(&system, service);
        let answer = call(port, &rpc, body.clone(), &system.token(Role::Admin)).await;
        refusals.push((rpc.path, answer));
    }
    let after = system.assignment().head_position().await.expect("head");

    for (path, answer) in refusals {
        let (code, text) = answer.expect_err(&path);
        assert_eq!(code, Code::OutOfRange, "{path}: {text}");
        assert!(text.contains("too large"), "{path}: {text}");
    }
    assert_eq!(before, after, "nothing written");
}
