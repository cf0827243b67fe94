//! The token of a recovery link, `/r/{token}`: the cart's Durable Object id (64 hex digits)
//! followed by 128 random bits (22 base64url characters). The id lets the Worker address the
//! cart without looking anything up; the random part, which only the cart holds, is what makes
//! the link unguessable, and the cart checks it. Links sent before carried the random part
//! only and are looked up in KV until they expire.

/// Length of an object id in hex.
const OBJECT_ID_LEN: usize = 64;
/// Length of 16 random bytes in unpadded base64url.
const SECRET_LEN: usize = 22;

#[derive(Debug, PartialEq, Eq)]
pub enum LinkToken<'a> {
    /// Names its cart's object.
    Cart { object_id: &'a str },
    /// A link from before: its cart is found through KV.
    Kept,
}

/// A link's token, or `None` when it cannot be one of ours.
pub fn parse(token: &str) -> Option<LinkToken<'_>> {
    let base64url = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    match token.len() {
        SECRET_LEN if base64url(token) => Some(LinkToken::Kept),
        n if n == OBJECT_ID_LEN + SECRET_LEN => {
            let (id, secret) = token.split_at(OBJECT_ID_LEN);
            let hex = id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
            (hex && base64url(secret)).then_some(LinkToken::Cart { object_id: id })
        }
        _ => None,
    }
}

/// A new cart's token, from its object id and 16 random bytes already base64url-encoded.
pub fn token(object_id: &str, secret: &str) -> String {
    format!("{object_id}{secret}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "4f1d2a7c9b3e5f60718293a4b5c6d7e8f90123456789abcdef0123456789abcd";

    #[test]
    fn a_new_token_names_its_cart() {
        let t = token(ID, "AAAAAAAAAAAAAAAAAAAA-_");
        assert_eq!(parse(&t), Some(LinkToken::Cart { object_id: ID }));
    }

    #[test]
    fn an_old_token_is_looked_up() {
        assert_eq!(parse("k7Q2xMa-b_c3d4e5f6g7h8"), Some(LinkToken::Kept));
    }

    #[test]
    fn anything_else_is_no_link() {
        for bad in [
            "",
            "short",
            &format!("{}{}", ID.to_uppercase(), "AAAAAAAAAAAAAAAAAAAAAA"),
            &format!("{ID}AAAAAAAAAAAAAAAAAAAA/A"),
            &format!("{ID}AAAA"),
            "k7Q2xMa-b_c3d4e5f6g7h.",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
