//! What `residual scan aws` says when AWS cannot be read: the cause chain in words, naming the
//! operation, the error code and message, and the endpoint or host; never an SDK `Debug` dump
//! (`DispatchFailure(…)`, `ServiceError(…)`, `{ … }`) nor a message said twice.

use crate::harness::Sandbox;
use std::io::{Read, Write};
use std::net::TcpListener;

fn sandbox() -> Sandbox {
    let mut sb = Sandbox::new();
    for (k, v) in [
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ] {
        sb.env.push((k.into(), v.into()));
    }
    sb
}

/// stderr of the scan plus the run's errors as `runs` shows them.
fn said(sb: &Sandbox, endpoint: &str) -> String {
    let scan = sb.expect(3, &["scan", "aws", "--endpoint-url", endpoint]);
    let runs = sb.ok(&["runs", "--format", "json"]);
    format!("{}\n{}", scan.stderr, runs.stdout)
}

/// No SDK Debug output: the variant names and the braces of a `{:?}` struct dump.
fn assert_no_debug_dump(text: &str) {
    for dump in [
        "ServiceError",
        "DispatchFailure",
        "ConnectorError",
        "Some(",
        " { ",
    ] {
        assert!(!text.contains(dump), "a Debug dump ({dump}) in:\n{text}");
    }
}

#[test]
fn an_unreachable_aws_endpoint_is_named_with_the_operation_in_words() {
    let sb = sandbox();
    // A port nobody listens on: bound, then released.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let text = said(&sb, &format!("http://127.0.0.1:{port}"));
    assert_no_debug_dump(&text);
    assert!(text.contains("GetCallerIdentity"), "{text}");
    assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
    assert!(text.contains("refused"), "{text}");
}

/// A server that answers every request 403 with AWS's query-protocol error body.
fn denying_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(50) {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 65536];
            let _ = stream.read(&mut buf);
            let body = "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>\
                        <Message>User: arn:aws:iam::123456789012:user/ci is not authorized to perform: sts:GetCallerIdentity</Message>\
                        </Error><RequestId>r-1</RequestId></ErrorResponse>";
            let _ = write!(
                stream,
                "HTTP/1.1 403 Forbidden\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("http://{addr}")
}

#[test]
fn an_aws_denial_names_the_operation_code_message_and_endpoint() {
    let sb = sandbox();
    let endpoint = denying_server();
    let text = said(&sb, &endpoint);
    assert_no_debug_dump(&text);
    for part in [
        "GetCallerIdentity",
        "AccessDenied",
        "is not authorized to perform",
        endpoint.trim_start_matches("http://"),
    ] {
        assert!(text.contains(part), "{part} missing in:\n{text}");
    }
    let line = text
        .lines()
        .find(|l| l.contains("is not authorized"))
        .unwrap();
    assert_eq!(
        line.matches("is not authorized").count(),
        1,
        "said twice: {line}"
    );
}

#[test]
fn a_missing_aws_profile_says_it_is_missing() {
    let mut sb = sandbox();
    let config = sb.write("aws-config", "[profile ci]\nregion = us-east-1\n");
    let credentials = sb.write("aws-credentials", "[ci]\naws_access_key_id = AKIDEXAMPLE\n");
    sb.env
        .push(("AWS_CONFIG_FILE".into(), config.display().to_string()));
    sb.env.push((
        "AWS_SHARED_CREDENTIALS_FILE".into(),
        credentials.display().to_string(),
    ));
    // A closed loopback port: were the profile not checked first, no call leaves the machine.
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoint = format!("http://127.0.0.1:{closed}");
    let text = {
        let scan = sb.run(&[
            "scan",
            "aws",
            "--profile",
            "no-such-profile",
            "--endpoint-url",
            &endpoint,
        ]);
        assert_ne!(scan.code, 0);
        let runs = sb.run(&["runs", "--format", "json"]);
        format!("{}\n{}", scan.stderr, runs.stdout)
    };
    assert_no_debug_dump(&text);
    assert!(text.contains("no-such-profile"), "{text}");
    assert!(text.contains("is missing"), "{text}");
    assert!(text.contains("profiles there: ci"), "{text}");
}
