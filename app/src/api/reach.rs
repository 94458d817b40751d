//! Calls that got no answer ([`UiError::Unreachable`]): a read is tried again after a short,
//! bounded backoff before the page shows that the server cannot be reached; a write is tried
//! again only when the user asks (see `components::Unreachable`).

use std::future::Future;

use super::UiError;

/// The waits before each further try, in ms: four more tries within 7.5 s, long enough for a
/// server restart, short enough that a page does not hang on "loading" for long.
#[cfg(feature = "hydrate")]
const BACKOFF_MS: [i32; 4] = [500, 1_000, 2_000, 4_000];

/// Runs `call`, and in the browser runs it again after each of the backoff's waits for as long
/// as it gets no answer. Only for calls that are safe to repeat (reads): a request that got
/// no answer may still have reached the server.
///
/// # Errors
/// The last try's error.
pub async fn retrying<T, F, Fut>(mut call: F) -> Result<T, UiError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, UiError>>,
{
    #[cfg_attr(not(feature = "hydrate"), allow(unused_mut))]
    let mut result = call().await;
    #[cfg(feature = "hydrate")]
    for wait in BACKOFF_MS {
        if !result.as_ref().is_err_and(UiError::is_unreachable) {
            break;
        }
        // Resources want `Send` futures; the browser runs them on its one thread.
        send_wrapper::SendWrapper::new(crate::timer::sleep_ms(wait)).await;
        result = call().await;
    }
    result
}
