//! Pure rules: no I/O, no database, no clock (dates and times are passed in).
/// A closed vocabulary: each value's stored id and its label, `ALL` in order, parsing
/// that names the allowed ids when it fails, and the column type an entity stores it in
/// (its id as text, so `Column::Modality.eq(Modality::Recorded)` reads as it says and a
/// stored value outside the list is an error, never a default). Every such enum is
/// written with it; `tsp_domain::id_enum!` is how the app writes its own. Serde
/// reads and writes the id, so ledger snapshots and JSON show `"recorded"`.
#[macro_export]
macro_rules! id_enum {
    (
        $(#[$meta:meta])*
        $name:ident { $($(#[$vmeta:meta])* $variant:ident = $id:literal / $label:literal),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            sea_orm::EnumIter, sea_orm::DeriveActiveEnum,
        )]
        #[sea_orm(rs_type = "String", db_type = "Text")]
        pub enum $name { $($(#[$vmeta])* #[sea_orm(string_value = $id)] $variant),+ }

        impl $name {
            pub const ALL: [$name; [$($id),+].len()] = [$($name::$variant),+];

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
                $name::ALL.into_iter().find(|v| v.id() == s).ok_or_else(|| {
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

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.id())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let id = <::std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(d)?;
                id.parse().map_err(::serde::de::Error::custom)
            }
        }

        $crate::clap_value!($name);
    };
}

/// With the `clap` feature, a vocabulary is a command-line value: `--help` lists every id
/// and a wrong one is refused naming them.
#[cfg(feature = "clap")]
#[doc(hidden)]
#[macro_export]
macro_rules! clap_value {
    ($name:ident) => {
        impl clap::ValueEnum for $name {
            fn value_variants<'a>() -> &'a [Self] {
                &$name::ALL
            }
            fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
                Some(clap::builder::PossibleValue::new(self.id()))
            }
        }
    };
}

#[cfg(not(feature = "clap"))]
#[doc(hidden)]
#[macro_export]
macro_rules! clap_value {
    ($name:ident) => {};
}

pub mod account;
pub mod brand;
pub mod calendar;
pub mod catalog;
pub mod csv_cell;
pub mod delivery;
pub mod erasure;
pub mod evidence;
pub mod fields;
pub mod forecast;
pub mod kpi;
pub mod learning_partner;
pub mod numbering;
pub mod outbox;
pub mod plural;
pub mod policy;
pub mod quality;
pub mod reconciliation;
pub mod recording;
pub mod redirect;
pub mod retention;
pub mod role;
pub mod sign_in;
pub mod survey;
pub mod throttle;
pub mod todo;
