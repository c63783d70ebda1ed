//! One request to one response: the route, authentication, throttling, then the query,
//! run on a blocking thread with a bounded number at once.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderValue, Method, Request as HttpRequest, StatusCode};
use axum::response::Response;
use axum::Router;

use super::{drf, map, Limits, ServerState};
use crate::error::Error;
use crate::request::Request;
use crate::response::{error_body, ResponseOptions};
use crate::store::SampleId;

fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

pub(super) fn detail(status: StatusCode, message: &str) -> Response {
    json_response(status, error_body(message))
}

async fn handle(
    State(state): State<Arc<ServerState>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    request: HttpRequest<Body>,
) -> Response {
    let started = Instant::now();
    let (parts, _body) = request.into_parts();
    let method = parts.method.clone();
    let uri = parts.uri.clone();
    let response = answer(&state, client, &parts).await;
    let bytes = axum::body::HttpBody::size_hint(response.body())
        .exact()
        .map_or_else(|| "-".to_string(), |n| n.to_string());
    // One line per request; the Authorization header is never logged.
    state.access_log.write(format!(
        "{client} \"{method} {}\" {} {bytes} {:.2}ms\n",
        uri.path_and_query().map_or("", |p| p.as_str()),
        response.status().as_u16(),
        started.elapsed().as_secs_f64() * 1000.0
    ));
    response
}

async fn answer(
    state: &Arc<ServerState>,
    client: SocketAddr,
    request: &axum::http::request::Parts,
) -> Response {
    // Django's CommonMiddleware reads the host (and refuses a bad one) for every request,
    // before the URL is even resolved.
    let host = match request.headers.get(header::HOST) {
        Some(value) => value.to_str().ok().map(str::to_string),
        None => request
            .extensions
            .get::<super::listener::LocalAddress>()
            .map(|local| super::host::host_of_local(&local.0)),
    };
    let Some(host) = host.filter(|host| state.allowed_hosts.allows(host)) else {
        let mut response = Response::new(Body::from(super::host::BAD_REQUEST_PAGE));
        *response.status_mut() = StatusCode::BAD_REQUEST;
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        return response;
    };
    // Django's URL resolver: a path the `<uuid:sample_id>` route does not match gets
    // Django's own 404 page.
    let path = request.uri.path();
    let Some(raw_id) = drf::route(path) else {
        let mut response = Response::new(Body::from(drf::NOT_FOUND_PAGE));
        *response.status_mut() = StatusCode::NOT_FOUND;
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        return response;
    };
    // The DRF view from here on: every response says its methods.
    let mut response = view(state, client, request, &host, raw_id).await;
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(drf::ALLOW));
    response
}

/// The DRF view, in DRF's order: content negotiation, authentication, throttling, then
/// the method's handler.
async fn view(
    state: &Arc<ServerState>,
    client: SocketAddr,
    request: &axum::http::request::Parts,
    host: &str,
    raw_id: String,
) -> Response {
    let query = request.uri.query().unwrap_or("").to_string();
    let indent = match drf::negotiate(
        &query,
        request
            .headers
            .get(header::ACCEPT)
            .map(HeaderValue::as_bytes),
    ) {
        Ok(indent) => indent,
        // Refused before a renderer was chosen: DRF renders the error compactly.
        Err(drf::Refused::Format) => return detail(StatusCode::NOT_FOUND, "Not found."),
        Err(drf::Refused::NotAcceptable) => {
            return detail(
                StatusCode::NOT_ACCEPTABLE,
                "Could not satisfy the request Accept header.",
            )
        }
    };
    let key = match state.auth.authenticate(&request.headers) {
        Ok(key) => key,
        Err(response) => return indented(*response, indent).await,
    };
    if let Err(response) = state
        .throttle
        .check(key.unwrap_or_else(|| client.ip().to_string()))
    {
        return indented(*response, indent).await;
    }
    match request.method {
        Method::GET | Method::HEAD => {}
        Method::OPTIONS => {
            return json_response(StatusCode::OK, render(drf::METADATA.as_bytes(), indent))
        }
        ref method => {
            return json_response(
                StatusCode::METHOD_NOT_ALLOWED,
                render(
                    &error_body(&format!("Method \"{method}\" not allowed.")),
                    indent,
                ),
            )
        }
    }
    // The route matched a UUID; it never becomes a path.
    let id = match SampleId::parse(&raw_id) {
        Ok(id) => id,
        Err(error) => {
            return json_response(
                StatusCode::BAD_REQUEST,
                render(&error_body(&error.to_string()), indent),
            )
        }
    };
    // The request's URL as Django sees it: the path decoded, then escaped again (so
    // `%33fa…` is `3fa…` in the paging links, as DRF writes them).
    let base_url = format!("http://{host}{}{raw_id}", crate::response::API_PATH);
    let Ok(permit) = Arc::clone(&state.queries).acquire_owned().await else {
        return detail(
            StatusCode::SERVICE_UNAVAILABLE,
            "The server is shutting down.",
        );
    };
    let work_state = Arc::clone(state);
    // The query's slot stays with its work (and comes back with the body), so a query
    // cut at the request timeout keeps it until the work ends.
    let result = tokio::task::spawn_blocking(move || {
        (query_body(&work_state, &id, &query, base_url), permit)
    })
    .await;
    match result {
        Ok((Ok(body), slot)) => {
            let body = render(&body, indent);
            // The body waits for its share of the response memory, holding its query
            // slot meanwhile, so slow clients cannot pile up responses beyond the budget
            // and the slots.
            let held = state.response_memory.hold(body).await;
            drop(slot);
            let mut response = Response::new(Body::new(held));
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            response
        }
        Ok((Err(error), _)) => {
            let (status, message) = view_error(&error);
            json_response(status, render(&error_body(&message), indent))
        }
        Err(_) => detail(
            StatusCode::INTERNAL_SERVER_ERROR,
            "A server error occurred.",
        ),
    }
}

/// The body as the negotiated renderer writes it: compact, or indented.
fn render(body: &[u8], indent: Option<usize>) -> Vec<u8> {
    match indent {
        None => body.to_vec(),
        Some(width) => crate::response::indent_json(body, width),
    }
}

/// An error response of the view as DRF renders it with the negotiated indent.
async fn indented(response: Response, indent: Option<usize>) -> Response {
    let Some(width) = indent else {
        return response;
    };
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    Response::from_parts(
        parts,
        Body::from(crate::response::indent_json(&bytes, width)),
    )
}

/// The status and message of a failed query, as the hosted view answers: an unknown
/// sample is DRF's own `Not found.` (the CLI keeps its more helpful message).
fn view_error(error: &Error) -> (StatusCode, String) {
    let status = StatusCode::from_u16(error.class().http_status())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match error.kind() {
        crate::error::ErrorKind::SampleNotFound { .. } => (status, "Not found.".to_string()),
        _ => (status, error.to_string()),
    }
}

/// The response body of the query `query` to sample `id` (blocking work).
fn query_body(
    state: &ServerState,
    id: &SampleId,
    query: &str,
    base_url: String,
) -> Result<Vec<u8>, Error> {
    let open = state.samples.sample(id)?;
    let request = Request::parse(query)
        .map_err(Error::from)?
        .with_page_size(state.page_size);
    let dbsnp = state
        .dbsnp
        .as_ref()
        .map(map::MapSlot::current)
        .transpose()?;
    let options = ResponseOptions {
        base_url,
        dbsnp,
        ..state.options.clone()
    };
    open.sample.respond(&request, &options)
}

pub(super) fn router(state: Arc<ServerState>, limits: &Limits) -> Router {
    Router::new().fallback(handle).with_state(state).layer(
        tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.request_timeout,
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::response::{Schema, API_PATH};
    use crate::server::{server_state, ServeOptions};
    use std::time::Duration;

    #[test]
    fn a_query_past_the_request_timeout_gets_408_and_its_slot_is_held_until_its_work_ends() {
        use tower::ServiceExt;
        let dir = tempfile::tempdir().unwrap();
        let options = ServeOptions {
            store: dir.path().to_path_buf(),
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            dbsnp: None,
            api_keys: None,
            rate_limit: None,
            page_size: None,
            schema: Schema::Docs,
            allowed_hosts: None,
            limits: Limits {
                request_timeout: Duration::from_millis(300),
                ..Limits::default()
            },
        };
        let state = server_state(&options).unwrap();
        let app = router(Arc::clone(&state), &options.limits);
        let request = || {
            let mut request = HttpRequest::get(format!(
                "{API_PATH}3f2b6c1e-9a7d-4c1e-8f3a-2b6c1e9a7d4c?chromosome=chr19&position=1"
            ))
            .header(header::HOST, "127.0.0.1:8080")
            .body(Body::empty())
            .unwrap();
            request
                .extensions_mut()
                .insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 9))));
            request
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            // Every query slot taken (slow queries in flight): this one waits past the
            // limit and gets 408 at the limit, not when a slot frees.
            let slots = u32::try_from(state.queries.available_permits()).unwrap();
            let taken = state.queries.acquire_many(slots).await.unwrap();
            let started = Instant::now();
            let response =
                tokio::time::timeout(Duration::from_secs(5), app.clone().oneshot(request()))
                    .await
                    .expect("no answer within 5 s")
                    .unwrap();
            let waited = started.elapsed();
            assert_eq!(response.status(), StatusCode::REQUEST_TIMEOUT);
            assert!(
                waited >= Duration::from_millis(300) && waited < Duration::from_secs(5),
                "{waited:?}"
            );
            // The timed-out query gave up its wait: once the slots free, the next query
            // is answered (here: no such sample).
            drop(taken);
            assert_eq!(state.queries.available_permits(), slots as usize);
            let response = app.clone().oneshot(request()).await.unwrap();
            assert_eq!(response.status(), StatusCode::NOT_FOUND);

            // A query whose work is still running at the limit (here: held up on the store
            // reader's lock) gets 408, and its work keeps its slot until it ends.
            let (locked, wait_locked) = std::sync::mpsc::channel();
            let (release, wait_release) = std::sync::mpsc::channel::<()>();
            let holder = {
                let state = Arc::clone(&state);
                std::thread::spawn(move || {
                    let _reader = state.samples.reader.lock().unwrap();
                    locked.send(()).unwrap();
                    let _ = wait_release.recv();
                })
            };
            wait_locked.recv().unwrap();
            let response = app.clone().oneshot(request()).await.unwrap();
            assert_eq!(response.status(), StatusCode::REQUEST_TIMEOUT);
            assert_eq!(state.queries.available_permits(), slots as usize - 1);
            release.send(()).unwrap();
            holder.join().unwrap();
            let deadline = Instant::now() + Duration::from_secs(5);
            while state.queries.available_permits() < slots as usize {
                assert!(Instant::now() < deadline, "the slot was not given back");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        });
    }

    #[test]
    fn kinds_map_to_statuses() {
        let error: Error = ErrorKind::SampleNotFound { id: "x".into() }.into();
        assert_eq!(
            view_error(&error),
            (StatusCode::NOT_FOUND, "Not found.".to_string())
        );
        let error: Error = ErrorKind::NoDbsnpMap.into();
        assert_eq!(view_error(&error).0, StatusCode::BAD_REQUEST);
    }
}
