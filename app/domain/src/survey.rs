//! Survey vocabularies.

id_enum!(
    /// How a survey response arrived: answered on the learner's survey page, or imported.
    ResponseSource {
        Web = "web" / "Survey page",
        Import = "import" / "Import",
    }
);
