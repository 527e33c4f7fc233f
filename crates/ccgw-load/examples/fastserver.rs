use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response, body::Incoming, service::service_fn};
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
use std::sync::Arc;

async fn handle(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
    let path = req.uri().path();
    let mut resp = Response::builder().header("content-type", "application/json");
    let body: &'static [u8] = if path.contains("/agentevent/") {
        tokio::time::sleep(std::time::Duration::from_secs(10)).await;
        br#"{"message":"","retcode":"0"}"#
    } else if path.starts_with("/agentgateway/resource/onlineagent/") && req.method() == hyper::Method::PUT {
        resp = resp.header("set-guid", "JSESSIONID=abc.AgentGateway0");
        br#"{"message":"","retcode":"0","result":{"vdnid":1}}"#
    } else if path.ends_with("/unknown") {
        resp = resp.status(404);
        b""
    } else {
        br#"{"message":"","retcode":"0","result":["1700000000-12","1700000000-9"]}"#
    };
    Ok(resp.body(Full::new(Bytes::from_static(body))).unwrap())
}

fn main() -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
    rt.block_on(async {
        let certs = CertificateDer::pem_file_iter("/tmp/ccgwmock/cert.pem")?.collect::<Result<Vec<_>, _>>()?;
        let key = PrivateKeyDer::from_pem_file("/tmp/ccgwmock/key.pem")?;
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(certs, key)?;
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:18043").await?;
        loop {
            let (tcp, _) = listener.accept().await?;
            tcp.set_nodelay(true)?;
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), service_fn(handle))
                    .await;
            });
        }
    })
}
