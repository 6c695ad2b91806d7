//! Token counts when an upstream gives none: `tiktoken-rs`'s `cl100k_base` (its BPE ranks are
//! embedded in the crate, so nothing is downloaded), loaded once per process. Counts for other
//! tokenizers (Spark's, Qwen's) are estimates of the same order.

use std::sync::OnceLock;

use tiktoken_rs::CoreBPE;

use crate::provider::ChatMessage;

static BPE: OnceLock<Option<CoreBPE>> = OnceLock::new();

fn bpe() -> Option<&'static CoreBPE> {
    BPE.get_or_init(|| match tiktoken_rs::cl100k_base() {
        Ok(bpe) => Some(bpe),
        Err(error) => {
            tracing::error!(%error, "cannot load the cl100k_base tokenizer; estimating 4 characters a token");
            None
        }
    })
    .as_ref()
}

/// Loads the tokenizer now (it takes a fraction of a second), so no request waits for it.
pub fn warm_up() {
    let _ = bpe();
}

/// Tokens of `text`.
pub fn count(text: &str) -> u32 {
    let n = match bpe() {
        Some(bpe) => bpe.encode_ordinary(text).len(),
        None => text.chars().count().div_ceil(4),
    };
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Tokens of a prompt as OpenAI counts chat messages: each message's content plus 4 for its
/// framing, plus 3 for the reply's priming.
pub fn count_messages(messages: &[ChatMessage]) -> u32 {
    messages.iter().fold(3u32, |sum, m| {
        sum.saturating_add(count(&m.content)).saturating_add(4)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_with_the_real_tokenizer() {
        // cl100k_base: "hello world" is two tokens; the estimate would say 3.
        assert_eq!(count("hello world"), 2);
        assert_eq!(count(""), 0);
        let messages = [ChatMessage {
            role: "user".to_owned(),
            content: "hello world".to_owned(),
        }];
        assert_eq!(count_messages(&messages), 9);
    }
}
