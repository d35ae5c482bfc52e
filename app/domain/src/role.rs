id_enum!(
    /// SPEC §1. Learners have no account and so no role.
    Role {
        Admin = "admin" / "Administrator",
        Coordinator = "coordinator" / "Coordinator",
        Trainer = "trainer" / "Trainer (MCT)",
        Viewer = "viewer" / "Viewer",
    }
);

/// Who is asking a use case: the signed-in account's id and role (services take this,
/// not the web's session extractor, so they stay callable from the CLI and tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    pub id: i64,
    pub role: Role,
}

impl Role {
    /// Catalog, classes, imports and the other day-to-day records.
    pub fn may_edit_records(self) -> bool {
        matches!(self, Role::Admin | Role::Coordinator)
    }

    /// Everything a coordinator reads (dashboard, lists, exports).
    pub fn may_read_records(self) -> bool {
        matches!(self, Role::Admin | Role::Coordinator | Role::Viewer)
    }

    /// Users, settings, rules profile, ledger verification.
    pub fn may_administer(self) -> bool {
        self == Role::Admin
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_through_their_ids() {
        for role in Role::ALL {
            assert_eq!(role.id().parse::<Role>().unwrap(), role);
        }
        assert!("learner".parse::<Role>().unwrap_err().contains("learner"));
    }

    #[test]
    fn role_permissions_follow_spec_section_1() {
        use Role::*;
        let table = [
            (Admin, true, true, true),
            (Coordinator, true, true, false),
            (Viewer, false, true, false),
            (Trainer, false, false, false),
        ];
        for (role, edit, read, admin) in table {
            assert_eq!(role.may_edit_records(), edit, "{role} edit");
            assert_eq!(role.may_read_records(), read, "{role} read");
            assert_eq!(role.may_administer(), admin, "{role} administer");
        }
    }
}
