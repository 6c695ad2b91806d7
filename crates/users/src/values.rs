//! Usernames and emails: values that can only be built valid, with the normalised key their
//! uniqueness is checked on.

use std::fmt;

use plaza_kernel::ApiError;
use validator::ValidateEmail;

/// A username: 3–150 letters (any script), digits and `@ . + - _`, as Django's
/// `UnicodeUsernameValidator` allows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    /// Checks `raw` (trimmed) against the rules; the error names the `username` field.
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        let name = raw.trim();
        let len = name.chars().count();
        if !(3..=150).contains(&len) {
            return Err(ApiError::invalid_field(
                "username",
                "Ensure this field has 3 to 150 characters.",
            ));
        }
        if !name
            .chars()
            .all(|c| c.is_alphanumeric() || "@.+-_".contains(c))
        {
            return Err(ApiError::invalid_field(
                "username",
                "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.",
            ));
        }
        Ok(Self(name.to_owned()))
    }

    /// The username as entered.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form uniqueness is checked on: Unicode lower case.
    pub fn key(&self) -> String {
        username_key(&self.0)
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The uniqueness key of any username-like input (for lookups by what a user typed).
pub fn username_key(raw: &str) -> String {
    raw.trim().to_lowercase()
}

/// An email address, with its domain lower-cased (as Django's `normalize_email`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Checks `raw` (trimmed); the error names the `email` field.
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        let email = raw.trim();
        if email.len() > 254 || !email.validate_email() {
            return Err(ApiError::invalid_field(
                "email",
                "Enter a valid email address.",
            ));
        }
        let normalised = match email.rsplit_once('@') {
            Some((local, domain)) => format!("{local}@{}", domain.to_lowercase()),
            None => email.to_owned(),
        };
        Ok(Self(normalised))
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form uniqueness is checked on: all lower case.
    pub fn key(&self) -> String {
        email_key(&self.0)
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The uniqueness key of any email-like input.
pub fn email_key(raw: &str) -> String {
    raw.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert!(Username::parse("alice_01").is_ok());
        assert!(
            Username::parse("张伟").is_err(),
            "two characters are too short"
        );
        assert!(Username::parse("张伟伟").is_ok(), "any script's letters");
        assert!(Username::parse("a.b+c-d@e").is_ok());
        assert!(Username::parse("ab").is_err());
        assert!(Username::parse("has space").is_err());
        assert!(Username::parse(&"x".repeat(151)).is_err());
        assert_eq!(Username::parse("  Bob  ").unwrap().as_str(), "Bob");
        assert_eq!(Username::parse("ÖLAF").unwrap().key(), "ölaf");
    }

    #[test]
    fn emails() {
        let email = Email::parse(" John.Doe@Example.COM ").unwrap();
        assert_eq!(email.as_str(), "John.Doe@example.com");
        assert_eq!(email.key(), "john.doe@example.com");
        assert!(Email::parse("not-an-email").is_err());
        assert_eq!(
            Email::parse("x@")
                .unwrap_err()
                .errors()
                .unwrap()
                .keys()
                .next()
                .unwrap(),
            "email"
        );
    }
}
