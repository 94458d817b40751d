//! The route table's rule for a request (deny by default: a route without a rule is refused)
//! and what it asks of the caller.

use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect};
use tracing::error;

use super::cross_site::is_write;
use super::{Refused, refuse};
use crate::http::routes::{RouteRules, Rule};

/// The rule of the matched route `pattern`; no pattern (no route matched) is the site's
/// static files, public.
pub(super) fn rule_for(rules: &RouteRules, pattern: Option<&str>) -> Result<Rule, Refused> {
    let Some(p) = pattern else { return Ok(Rule::Public) };
    rules.get(p).ok_or_else(|| {
        error!(route = %p, "route has no authorization rule; refused");
        refuse(StatusCode::FORBIDDEN, "this route has no authorization rule")
    })
}

/// Admits a caller (`anonymous` or signed in) to a route with `rule`: anonymous visitors
/// reach public routes, and reads of the others under `auth.public_read`; a page sends them
/// to the sign-in page and back.
pub(super) fn admit(rule: Rule, anonymous: bool, public_read: bool, method: &Method, uri: &Uri) -> Result<(), Refused> {
    if !anonymous {
        return Ok(());
    }
    let sign_in = || refuse(StatusCode::UNAUTHORIZED, "sign in to continue");
    match rule {
        Rule::Public => Ok(()),
        Rule::SignedIn => Err(sign_in()),
        Rule::Authorized if !public_read || is_write(method) => Err(sign_in()),
        Rule::ServerFn if !public_read => Err(sign_in()),
        Rule::Page if !public_read => {
            if *method != Method::GET {
                return Err(sign_in());
            }
            let next = uri.path_and_query().map_or("/", |p| p.as_str());
            let target = format!(
                "/login?next={}",
                url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
            );
            Err(Box::new(Redirect::to(&target).into_response()))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anonymous_callers_are_admitted_by_rule() {
        let uri: Uri = "/jobs?x=1".parse().expect("uri");
        let status = |rule, public_read, method: Method| {
            admit(rule, true, public_read, &method, &uri).map_or_else(|r| r.status().as_u16(), |()| 200)
        };
        assert_eq!(status(Rule::Public, false, Method::POST), 200);
        assert_eq!(status(Rule::SignedIn, true, Method::GET), 401);
        assert_eq!(status(Rule::Authorized, true, Method::GET), 200);
        assert_eq!(status(Rule::Authorized, true, Method::POST), 401);
        assert_eq!(status(Rule::Authorized, false, Method::GET), 401);
        assert_eq!(status(Rule::Page, false, Method::GET), 303);
        assert_eq!(status(Rule::Page, false, Method::POST), 401);
        assert_eq!(status(Rule::Page, true, Method::GET), 200);
        assert!(admit(Rule::SignedIn, false, false, &Method::POST, &uri).is_ok());
    }
}
