//! Which ways of signing in an account may use.
use super::role::Role;

/// Passwords sign in every account, unless password sign-in is turned off (the single
/// sign-on provider is then the way in); then only a listed break-glass admin may still
/// use one, so the partner is not locked out when the provider is down.
pub fn password_allowed(
    password_sign_in: bool,
    break_glass: &[String],
    email: &str,
    role: Role,
) -> bool {
    password_sign_in
        || (role == Role::Admin
            && break_glass
                .iter()
                .any(|listed| listed.trim().eq_ignore_ascii_case(email.trim())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_sign_in_everyone_while_password_sign_in_is_on() {
        for role in Role::ALL {
            assert!(password_allowed(true, &[], "a@x.example", role));
        }
    }

    #[test]
    fn with_password_sign_in_off_only_a_listed_admin_uses_a_password() {
        let listed = vec!["Root@X.example".to_string()];
        assert!(password_allowed(
            false,
            &listed,
            "root@x.example",
            Role::Admin
        ));
        assert!(!password_allowed(
            false,
            &listed,
            "other@x.example",
            Role::Admin
        ));
        // Listed but no longer an admin: the break-glass right goes with the role.
        assert!(!password_allowed(
            false,
            &listed,
            "root@x.example",
            Role::Coordinator
        ));
        assert!(!password_allowed(false, &[], "root@x.example", Role::Admin));
    }
}
