//! Pure rules: no I/O, no database, no clock (dates and times are passed in).
/// A closed vocabulary: each value's stored id and its label, `ALL` in order, and
/// parsing that names the allowed ids when it fails. Every such enum is written with it.
macro_rules! id_enum {
    ($name:ident { $($variant:ident = $id:literal / $label:literal),+ $(,)? }) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn id(self) -> &'static str {
                match self { $($name::$variant => $id),+ }
            }

            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let s = s.trim();
                $name::ALL.iter().copied().find(|v| v.id() == s).ok_or_else(|| {
                    let ids: Vec<_> = $name::ALL.iter().map(|v| v.id()).collect();
                    format!("must be one of {}, not {s:?}", ids.join(", "))
                })
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.id())
            }
        }
    };
}

pub mod account;
pub mod catalog;
pub mod csv_cell;
pub mod delivery;
pub mod erasure;
pub mod fields;
pub mod kpi;
pub mod plural;
pub mod policy;
pub mod recording;
pub mod redirect;
pub mod role;
pub mod sign_in;
pub mod throttle;
