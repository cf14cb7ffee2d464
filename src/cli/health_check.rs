//! `rubric health-check`: the server's own gRPC health probe, for images without a shell.

use super::*;

// ---- rubric health-check --------------------------------------------------------------------
// A probe for images without a shell (distroless): the server's own health client.

#[derive(clap::Args)]
pub(super) struct HealthCheckArgs {
    /// Server address: http://HOST:PORT, https://HOST:PORT or HOST:PORT (https with --tls-ca).
    #[arg(long, default_value = "http://127.0.0.1:50051")]
    addr: String,
    /// Service to ask about; "" is the whole server.
    #[arg(long, default_value = "")]
    service: String,
    /// Seconds to wait for the answer, connection included.
    #[arg(long, default_value = "5", value_parser = seconds)]
    timeout: Duration,
    /// CA certificates (PEM) to verify the server with: use TLS.
    #[arg(long)]
    tls_ca: Option<PathBuf>,
    /// Client certificate chain (PEM), for a server that requires mutual TLS.
    #[arg(long, requires_all = ["tls_key", "tls_ca"])]
    tls_cert: Option<PathBuf>,
    /// Client private key (PEM).
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Name to verify in the server's certificate; default: the host of --addr.
    #[arg(long, requires = "tls_ca")]
    tls_domain: Option<String>,
}

pub(super) fn health_check(args: HealthCheckArgs) -> Result<ExitCode> {
    use rubric::client::{endpoint_uri, health_status};
    use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};
    use tonic_health::pb::health_check_response::ServingStatus;
    let uri = endpoint_uri(&args.addr, args.tls_ca.is_some());
    let mut endpoint = Endpoint::from_shared(uri.clone())
        .with_context(|| format!("--addr {}: not an address", args.addr))?;
    if let Some(ca) = &args.tls_ca {
        let mut tls = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(read_file(ca)?));
        if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
            tls = tls.identity(Identity::from_pem(read_file(cert)?, read_file(key)?));
        }
        if let Some(domain) = &args.tls_domain {
            tls = tls.domain_name(domain.clone());
        }
        endpoint = endpoint
            .tls_config(tls)
            .context("invalid TLS configuration")?;
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let service = &args.service;
    match runtime.block_on(health_status(endpoint, service, args.timeout)) {
        Ok(ServingStatus::Serving) => {
            println!("SERVING");
            Ok(ExitCode::SUCCESS)
        }
        Ok(status) => {
            eprintln!("{uri}: service `{service}` is {}", status.as_str_name());
            Ok(ExitCode::FAILURE)
        }
        Err(reason) => {
            eprintln!("{reason}");
            Ok(ExitCode::FAILURE)
        }
    }
}
