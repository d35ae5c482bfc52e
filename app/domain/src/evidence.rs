//! Evidence packs: which part of the ledger a pack must carry so that a third party can
//! check its entries against a signed checkpoint with nothing else at hand.
//!
//! Each entry's hash is `SHA-256(prev_hash ‖ canonical entry)`, so an entry is proven by
//! a checkpoint only through every entry after it up to the checkpoint's head: the pack
//! carries the contiguous run from the first entry behind its subject to the checkpoint.
//! Entries before that run are not needed (the first one's `prev_hash` is taken as given).

/// The run of ledger entries a pack carries, and whether a fresh checkpoint is needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slice {
    /// The first entry carried.
    pub first: i64,
    /// The last entry carried: the checkpoint's head.
    pub last: i64,
}

/// What the pack needs of the checkpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckpointNeed {
    /// The newest stored checkpoint covers every entry behind the subject: use it.
    Stored(Slice),
    /// It does not (or there is none): sign the head first, then cut the slice up to it.
    Fresh,
}

/// *Evidence, which entries*: given the entries behind the subject (`behind`, any order)
/// and the newest stored checkpoint's head (`stored`, none when no checkpoint is usable),
/// the slice runs from the first entry behind the subject to the checkpoint's head. A
/// checkpoint short of the last entry behind the subject cannot prove it: a fresh one is
/// needed. A subject with no entries still gets the checkpoint's head entry, which is what
/// ties the pack to the signature.
pub fn slice_for(behind: &[i64], stored: Option<i64>) -> CheckpointNeed {
    let last_behind = behind.iter().copied().max();
    match stored {
        Some(head) if head >= 1 && last_behind.is_none_or(|last| last <= head) => {
            let first = behind.iter().copied().min().unwrap_or(head).max(1);
            CheckpointNeed::Stored(Slice { first, last: head })
        }
        _ => CheckpointNeed::Fresh,
    }
}

/// The slice under a checkpoint just signed at `head` (which covers every entry behind
/// the subject, as they were read before it was signed).
pub fn slice_under(behind: &[i64], head: i64) -> Slice {
    let first = behind.iter().copied().min().unwrap_or(head).max(1);
    Slice {
        first: first.min(head),
        last: head,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_a_pack_carries_every_entry_from_the_first_behind_the_subject_to_the_checkpoint() {
        assert_eq!(
            slice_for(&[40, 12, 31], Some(90)),
            CheckpointNeed::Stored(Slice {
                first: 12,
                last: 90
            })
        );
        // The checkpoint's head itself being the last entry behind the subject.
        assert_eq!(
            slice_for(&[7, 9], Some(9)),
            CheckpointNeed::Stored(Slice { first: 7, last: 9 })
        );
        // No entries behind the subject: the head alone ties the pack to the signature.
        assert_eq!(
            slice_for(&[], Some(5)),
            CheckpointNeed::Stored(Slice { first: 5, last: 5 })
        );
    }

    #[test]
    fn rule_a_checkpoint_short_of_the_subject_is_replaced_by_a_fresh_one() {
        assert_eq!(slice_for(&[12, 91], Some(90)), CheckpointNeed::Fresh);
        assert_eq!(slice_for(&[12], None), CheckpointNeed::Fresh);
        // A checkpoint of the empty ledger proves nothing.
        assert_eq!(slice_for(&[], Some(0)), CheckpointNeed::Fresh);
        assert_eq!(
            slice_under(&[12, 91], 95),
            Slice {
                first: 12,
                last: 95
            }
        );
        assert_eq!(
            slice_under(&[], 95),
            Slice {
                first: 95,
                last: 95
            }
        );
    }
}
