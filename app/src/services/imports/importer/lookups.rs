//! The importer's lookups: what a chunk of rows refers to (classes, roster lines), read
//! with one query per chunk, and the caches that keep it.
use std::collections::{HashMap, HashSet};

use entity::{classes, courses, enrollments, trainers};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use super::*;

impl Lookups for Importer {
    async fn class(
        &mut self,
        tx: &Recorder,
        class_ref: &str,
    ) -> Result<Option<classes::Model>, ServiceError> {
        if let Some(class) = self.classes.get(class_ref) {
            return Ok(Some(class.clone()));
        }
        if self.absent_classes.contains(class_ref) {
            return Ok(None);
        }
        let Some(class) = class_svc::by_ref(tx, class_ref).await? else {
            return Ok(None);
        };
        self.cache_class(class.clone());
        Ok(Some(class))
    }

    async fn learner(
        &mut self,
        tx: &Recorder,
        class_id: i64,
        key: &crate::domain::account::Email,
    ) -> Result<Option<enrollments::Model>, ServiceError> {
        if let Some(line) = self.learners.get(&(class_id, key.as_str().to_string())) {
            return Ok(line.clone());
        }
        rosters::find(tx, class_id, key).await
    }

    fn codes(&mut self) -> &mut codes::CodeImport {
        &mut self.codes
    }

    fn responses(&mut self) -> &mut surveys::ResponseImport {
        &mut self.responses
    }
}

impl Importer {
    /// The roster of the class being imported, loaded once per class: roster files list
    /// a class's learners together, so this replaces a lookup per row.
    pub(super) async fn roster_of(
        &mut self,
        tx: &Recorder,
        class_id: i64,
    ) -> Result<&mut HashMap<String, enrollments::Model>, ServiceError> {
        if self.roster.as_ref().map(|(id, _)| *id) != Some(class_id) {
            // Learners still waiting stay waiting: a line of theirs met again is found in
            // `pending_keys` (and flushed) before any roster is read, so batches span
            // classes instead of ending at each one.
            let lines = class_svc::roster(tx, class_id).await?;
            let by_email = lines
                .into_iter()
                .map(|l| (l.email_key.clone(), l))
                .collect();
            self.roster = Some((class_id, by_email));
        }
        Ok(&mut self.roster.as_mut().expect("loaded above").1)
    }

    /// The course and MCT a class row names, cached for the import (a Title Plan and an
    /// MCT list are small; the cache is emptied if a file names very many).
    pub(super) async fn names(
        &mut self,
        tx: &impl ConnectionTrait,
        input: &ClassInput,
    ) -> Result<(courses::Model, trainers::Model), RowError> {
        if self.courses.len() >= CLASS_CACHE || self.trainers.len() >= CLASS_CACHE {
            self.courses.clear();
            self.trainers.clear();
        }
        let course = match self.courses.get(&input.course_code) {
            Some(course) => course.clone(),
            None => {
                let course = class_svc::course_named(tx, &input.course_code).await?;
                self.courses
                    .insert(input.course_code.clone(), course.clone());
                course
            }
        };
        let trainer = match self.trainers.get(&input.mct_id) {
            Some(trainer) => trainer.clone(),
            None => {
                let trainer = class_svc::trainer_named(tx, &input.mct_id).await?;
                self.trainers.insert(input.mct_id.clone(), trainer.clone());
                trainer
            }
        };
        Ok((course, trainer))
    }

    pub(super) async fn class_of_row(
        &mut self,
        tx: &Recorder,
        r: &csv::StringRecord,
    ) -> Result<classes::Model, RowError> {
        let raw = self.get(r, "class_ref");
        if let Some(ClassRoster { class: fixed, .. }) = &self.fixed_class {
            if raw.trim().is_empty()
                || parse_code(&raw, 64).as_deref() == Ok(fixed.class_ref.as_str())
            {
                return Ok(fixed.clone());
            }
            return Err(ServiceError::field(
                "class_ref",
                format!("{} is not this class ({})", raw.trim(), fixed.class_ref),
            )
            .into());
        }
        let class_ref = parse_code(&raw, 64).map_err(|m| ServiceError::field("class_ref", m))?;
        Ok(self
            .class(tx, &class_ref)
            .await?
            .ok_or_else(|| ServiceError::field("class_ref", format!("no class {class_ref}")))?)
    }

    pub(super) fn cache_class(&mut self, class: classes::Model) {
        if self.classes.len() >= CLASS_CACHE {
            self.classes.clear();
        }
        self.classes.insert(class.class_ref.clone(), class);
    }

    /// Reads the classes `refs` names that are not cached, with one query per chunk of
    /// rows; a ref no class has is remembered as absent until the next chunk.
    pub(super) async fn prefetch_classes(
        &mut self,
        tx: &Recorder,
        refs: impl IntoIterator<Item = String>,
    ) -> Result<(), ServiceError> {
        self.absent_classes.clear();
        let wanted: HashSet<String> = refs
            .into_iter()
            .filter(|r| !self.classes.contains_key(r))
            .collect();
        if wanted.is_empty() {
            return Ok(());
        }
        if self.classes.len() + wanted.len() > CLASS_CACHE {
            self.classes.clear();
        }
        let found = classes::Entity::find()
            .filter(classes::Column::ClassRef.is_in(wanted.iter().cloned()))
            .all(tx)
            .await?;
        self.absent_classes = wanted;
        for class in found {
            self.absent_classes.remove(&class.class_ref);
            self.classes.insert(class.class_ref.clone(), class);
        }
        Ok(())
    }

    /// Reads the classes and the roster lines `(class_ref, learner)` a chunk's rows name,
    /// one query each; returns the lines' enrollment ids.
    pub(super) async fn prefetch_learners(
        &mut self,
        tx: &Recorder,
        wanted: impl IntoIterator<Item = (String, crate::domain::account::Email)>,
    ) -> Result<Vec<i64>, ServiceError> {
        let wanted: Vec<_> = wanted.into_iter().collect();
        self.prefetch_classes(tx, wanted.iter().map(|(class_ref, _)| class_ref.clone()))
            .await?;
        self.learners.clear();
        for (class_ref, key) in wanted {
            if let Some(class) = self.classes.get(&class_ref) {
                self.learners
                    .insert((class.id, key.as_str().to_string()), None);
            }
        }
        let class_ids: HashSet<i64> = self.learners.keys().map(|(c, _)| *c).collect();
        let emails: HashSet<String> = self.learners.keys().map(|(_, e)| e.clone()).collect();
        if class_ids.is_empty() {
            return Ok(vec![]);
        }
        let found = enrollments::Entity::find()
            .filter(enrollments::Column::ClassId.is_in(class_ids))
            .filter(enrollments::Column::EmailKey.is_in(emails))
            .all(tx)
            .await?;
        let mut ids = Vec::with_capacity(found.len());
        for line in found {
            if let Some(slot) = self
                .learners
                .get_mut(&(line.class_id, line.email_key.clone()))
            {
                ids.push(line.id);
                *slot = Some(line);
            }
        }
        Ok(ids)
    }
}
