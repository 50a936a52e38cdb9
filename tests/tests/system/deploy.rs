//! Placeholder: the deployment checks are being written.
