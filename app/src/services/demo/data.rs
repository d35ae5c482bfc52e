//! The demo TSP's fixed data: its Title Plan, its trainers, and the names its learners
//! and customers are drawn from.
pub(super) struct Course {
    pub(super) code: &'static str,
    pub(super) title: &'static str,
    pub(super) days: u32,
    pub(super) fundamentals: bool,
    pub(super) area: &'static str,
    pub(super) official: bool,
    /// How often it is delivered, relative to the others.
    pub(super) weight: u32,
}

pub(super) const fn course(
    code: &'static str,
    title: &'static str,
    days: u32,
    area: &'static str,
    weight: u32,
) -> Course {
    Course {
        code,
        title,
        days,
        fundamentals: false,
        area,
        official: true,
        weight,
    }
}

pub(super) const fn fundamentals(
    code: &'static str,
    title: &'static str,
    area: &'static str,
    weight: u32,
) -> Course {
    Course {
        fundamentals: true,
        ..course(code, title, 1, area, weight)
    }
}

pub(super) const fn unofficial(
    code: &'static str,
    title: &'static str,
    days: u32,
    area: &'static str,
    weight: u32,
) -> Course {
    Course {
        official: false,
        ..course(code, title, days, area, weight)
    }
}

/// The Title Plan of the demo TSP: strong in Security and Infrastructure, growing in
/// Data & AI, smaller in the other areas.
pub(super) const COURSES: &[Course] = &[
    // Infrastructure (Azure)
    fundamentals(
        "AZ-900",
        "Microsoft Azure Fundamentals",
        "infrastructure",
        14,
    ),
    course(
        "AZ-104",
        "Microsoft Azure Administrator",
        4,
        "infrastructure",
        16,
    ),
    course(
        "AZ-305",
        "Designing Microsoft Azure Infrastructure Solutions",
        4,
        "infrastructure",
        10,
    ),
    course(
        "AZ-700",
        "Designing and Implementing Microsoft Azure Networking Solutions",
        3,
        "infrastructure",
        4,
    ),
    course(
        "AZ-140",
        "Configuring and Operating Microsoft Azure Virtual Desktop",
        4,
        "infrastructure",
        3,
    ),
    course(
        "AZ-800",
        "Administering Windows Server Hybrid Core Infrastructure",
        4,
        "infrastructure",
        3,
    ),
    course(
        "AZ-1003",
        "Secure storage for Azure Files and Azure Blob Storage",
        1,
        "infrastructure",
        3,
    ),
    // Security
    fundamentals(
        "SC-900",
        "Microsoft Security, Compliance, and Identity Fundamentals",
        "security",
        12,
    ),
    course(
        "SC-200",
        "Microsoft Security Operations Analyst",
        4,
        "security",
        12,
    ),
    course(
        "SC-300",
        "Microsoft Identity and Access Administrator",
        4,
        "security",
        9,
    ),
    course(
        "SC-401",
        "Microsoft Information Security Administrator",
        4,
        "security",
        5,
    ),
    course(
        "SC-100",
        "Microsoft Cybersecurity Architect",
        4,
        "security",
        5,
    ),
    course(
        "AZ-500",
        "Microsoft Azure Security Technologies",
        4,
        "security",
        7,
    ),
    course(
        "SC-5002",
        "Secure Azure services and workloads with Microsoft Defender for Cloud",
        1,
        "security",
        3,
    ),
    // Data & AI (Azure)
    fundamentals("AI-900", "Microsoft Azure AI Fundamentals", "data_ai", 9),
    fundamentals("DP-900", "Microsoft Azure Data Fundamentals", "data_ai", 5),
    course(
        "AI-102",
        "Designing and Implementing a Microsoft Azure AI Solution",
        4,
        "data_ai",
        8,
    ),
    course(
        "DP-203",
        "Data Engineering on Microsoft Azure",
        4,
        "data_ai",
        4,
    ),
    course(
        "DP-100",
        "Designing and Implementing a Data Science Solution on Azure",
        4,
        "data_ai",
        3,
    ),
    course(
        "DP-600",
        "Implementing Analytics Solutions Using Microsoft Fabric",
        3,
        "data_ai",
        5,
    ),
    course(
        "AI-3016",
        "Develop custom copilots with Azure AI Foundry",
        1,
        "data_ai",
        3,
    ),
    // Digital & App Innovation (Azure)
    course(
        "AZ-204",
        "Developing Solutions for Microsoft Azure",
        5,
        "digital_app_innovation",
        4,
    ),
    course(
        "AZ-400",
        "Designing and Implementing Microsoft DevOps Solutions",
        5,
        "digital_app_innovation",
        3,
    ),
    course(
        "AZ-2001",
        "Implement security through a pipeline using Azure DevOps",
        1,
        "digital_app_innovation",
        2,
    ),
    // Business Applications
    fundamentals(
        "PL-900",
        "Microsoft Power Platform Fundamentals",
        "business_applications",
        6,
    ),
    fundamentals(
        "MB-910",
        "Microsoft Dynamics 365 Fundamentals (CRM)",
        "business_applications",
        2,
    ),
    course(
        "PL-300",
        "Microsoft Power BI Data Analyst",
        3,
        "business_applications",
        7,
    ),
    course(
        "PL-200",
        "Microsoft Power Platform Functional Consultant",
        5,
        "business_applications",
        2,
    ),
    course(
        "PL-400",
        "Microsoft Power Platform Developer",
        5,
        "business_applications",
        2,
    ),
    course(
        "MB-800",
        "Microsoft Dynamics 365 Business Central Functional Consultant",
        4,
        "business_applications",
        1,
    ),
    // Modern Work
    fundamentals("MS-900", "Microsoft 365 Fundamentals", "modern_work", 8),
    course("MS-102", "Microsoft 365 Administrator", 5, "modern_work", 6),
    course(
        "MD-102",
        "Microsoft 365 Endpoint Administrator",
        5,
        "modern_work",
        5,
    ),
    course("MS-700", "Managing Microsoft Teams", 4, "modern_work", 3),
    course(
        "MS-4004",
        "Empower your workforce with Copilot for Microsoft 365 Use Cases",
        1,
        "modern_work",
        5,
    ),
    // Official, in no solution area
    fundamentals("GH-900", "GitHub Foundations", "", 3),
    course("GH-300", "GitHub Copilot", 1, "", 3),
    course(
        "MB-280",
        "Microsoft Dynamics 365 Customer Experience Analyst",
        4,
        "",
        1,
    ),
    // The partner's own (unofficial) courses
    unofficial(
        "NWL-PS301",
        "PowerShell and Azure CLI for Administrators",
        3,
        "infrastructure",
        3,
    ),
    unofficial(
        "NWL-KQL201",
        "Hunting with KQL in Microsoft Sentinel",
        2,
        "security",
        3,
    ),
    unofficial("NWL-CP101", "Copilot Prompting Workshop", 1, "", 3),
];

/// Voucher exams: fundamentals and advanced (role-based).
pub(super) const FUNDAMENTALS_EXAMS: &[&str] =
    &["AZ-900", "AI-900", "DP-900", "SC-900", "PL-900", "MS-900"];
pub(super) const ADVANCED_EXAMS: &[&str] = &[
    "AZ-104", "AZ-305", "AZ-500", "AZ-204", "SC-200", "SC-300", "SC-401", "MD-102", "MS-102",
    "PL-300", "DP-203", "DP-600", "AI-102",
];

pub(super) struct Trainer {
    pub(super) name: &'static str,
    pub(super) mct_id: &'static str,
    pub(super) areas: &'static [&'static str],
    /// Days from today until the standing ends (negative: lapsed).
    pub(super) valid_for: i64,
    pub(super) affiliated: bool,
    /// Added to the mean score of their classes.
    pub(super) score_offset: f64,
}

pub(super) const fn mct(
    name: &'static str,
    mct_id: &'static str,
    areas: &'static [&'static str],
    valid_for: i64,
    score_offset: f64,
) -> Trainer {
    Trainer {
        name,
        mct_id,
        areas,
        valid_for,
        affiliated: true,
        score_offset,
    }
}

pub(super) const TRAINERS: &[Trainer] = &[
    mct(
        "Amelia Hart",
        "MCT-10482",
        &["infrastructure", "security"],
        410,
        0.10,
    ),
    mct("Rahul Menon", "MCT-11937", &["infrastructure"], 300, 0.05),
    mct("Sofia Lindqvist", "MCT-12205", &["security"], 520, 0.15),
    mct(
        "Daniel Okafor",
        "MCT-12876",
        &["security", "modern_work"],
        260,
        0.0,
    ),
    mct(
        "Chen Wei",
        "MCT-13041",
        &["data_ai", "digital_app_innovation"],
        380,
        0.05,
    ),
    mct("Lucía Fernández", "MCT-13399", &["data_ai"], 450, 0.10),
    mct(
        "Tom Becker",
        "MCT-14120",
        &["digital_app_innovation", "infrastructure"],
        330,
        -0.10,
    ),
    mct(
        "Priya Nair",
        "MCT-14587",
        &["business_applications"],
        290,
        -0.05,
    ),
    mct(
        "Jonas Weber",
        "MCT-15023",
        &["business_applications", "data_ai"],
        480,
        -0.15,
    ),
    mct("Emma Clarke", "MCT-15466", &["modern_work"], 360, 0.05),
    // Freelancers: not affiliated.
    Trainer {
        affiliated: false,
        ..mct(
            "Marco Rossi",
            "MCT-16012",
            &["modern_work", "security"],
            200,
            0.0,
        )
    },
    Trainer {
        affiliated: false,
        ..mct(
            "Hannah Schmidt",
            "MCT-16358",
            &["infrastructure", "data_ai"],
            390,
            -0.05,
        )
    },
    // Standing ends within the coming month.
    mct(
        "Kwame Mensah",
        "MCT-16990",
        &["security", "infrastructure"],
        24,
        0.05,
    ),
    // Lapsed: they still teach the partner's own courses.
    mct(
        "Olivia Brooks",
        "MCT-17231",
        &["modern_work", "business_applications"],
        -45,
        -0.05,
    ),
    mct("Yusuf Demir", "MCT-17804", &["data_ai"], -160, 0.0),
];

/// Mean survey score per solution area (the area's own "temperature").
pub(super) fn area_mean(area: &str) -> f64 {
    match area {
        "security" => 4.48,
        "infrastructure" => 4.50,
        "data_ai" => 4.42,
        "modern_work" => 4.40,
        "business_applications" => 4.15,
        "digital_app_innovation" => 4.30,
        _ => 4.35,
    }
}

/// Learners' survey comments, by how the response scored (average 4.5 and up, 3.5 and
/// up, below).
pub(super) const COMMENTS_GOOD: &[&str] = &[
    "Excellent trainer, clear explanations and great real-world examples.",
    "The labs were the best part: hands-on and close to what I do at work.",
    "Very well paced. I feel ready to book the exam.",
    "Knew the product inside out and answered every question.",
    "Great mix of theory and practice, thank you!",
];
pub(super) const COMMENTS_MIXED: &[&str] = &[
    "Good course overall, but the labs environment was slow on day two.",
    "Useful content; some modules felt rushed at the end.",
    "The trainer was good. More time for questions would help.",
    "Courseware is a bit out of date in places, the trainer filled the gaps.",
];
pub(super) const COMMENTS_POOR: &[&str] = &[
    "Lab VMs kept timing out, we lost most of an afternoon.",
    "Too much reading from the slides, not enough demos.",
    "The pace was too fast for a first course on the topic.",
];

pub(super) const FIRST_NAMES: &[&str] = &[
    "Aaron",
    "Abigail",
    "Adam",
    "Aisha",
    "Alejandro",
    "Alice",
    "Amir",
    "Ana",
    "Andrea",
    "Anna",
    "Ben",
    "Bianca",
    "Carlos",
    "Charlotte",
    "Chloe",
    "Daniel",
    "David",
    "Elena",
    "Eli",
    "Emily",
    "Erik",
    "Fatima",
    "Felix",
    "Grace",
    "Hana",
    "Henrik",
    "Isabel",
    "Ivan",
    "Jack",
    "James",
    "Jana",
    "Julia",
    "Karim",
    "Kate",
    "Laura",
    "Leo",
    "Liam",
    "Lina",
    "Lucas",
    "Maya",
    "Mei",
    "Mia",
    "Nadia",
    "Noah",
    "Nora",
    "Oliver",
    "Omar",
    "Paula",
    "Pedro",
    "Raj",
    "Rosa",
    "Sam",
    "Sara",
    "Sebastian",
    "Sophie",
    "Tariq",
    "Theo",
    "Valentina",
    "Victor",
    "Zoe",
];

pub(super) const LAST_NAMES: &[&str] = &[
    "Adams",
    "Ahmed",
    "Andersen",
    "Bauer",
    "Bianchi",
    "Brown",
    "Castro",
    "Cohen",
    "Costa",
    "Dubois",
    "Eriksson",
    "Evans",
    "Fischer",
    "Garcia",
    "Gomez",
    "Green",
    "Hansen",
    "Hill",
    "Ibrahim",
    "Ito",
    "Jansen",
    "Jones",
    "Kaur",
    "Khan",
    "Kim",
    "Kowalski",
    "Larsen",
    "Lee",
    "Lopez",
    "Martin",
    "Meyer",
    "Moreau",
    "Murphy",
    "Nguyen",
    "Novak",
    "Olsen",
    "Patel",
    "Pereira",
    "Petrov",
    "Quinn",
    "Ramos",
    "Reyes",
    "Ricci",
    "Rossi",
    "Santos",
    "Sato",
    "Schneider",
    "Silva",
    "Singh",
    "Smith",
    "Suzuki",
    "Taylor",
    "Tanaka",
    "Vargas",
    "Walker",
    "Wang",
    "Wilson",
    "Wright",
    "Yilmaz",
    "Zhang",
];

/// The customers sending learners (fictional companies, reserved `.example` domains).
pub(super) const COMPANIES: &[&str] = &[
    "contoso.example",
    "fabrikam.example",
    "adventure-works.example",
    "northwindtraders.example",
    "tailspintoys.example",
    "wingtiptoys.example",
    "woodgrovebank.example",
    "litwareinc.example",
    "proseware.example",
    "fourthcoffee.example",
    "alpineskihouse.example",
    "blueyonderairlines.example",
    "lucernepublishing.example",
    "margiestravel.example",
    "relecloud.example",
    "treyresearch.example",
    "wideworldimporters.example",
    "cohowinery.example",
    "humongousinsurance.example",
    "southridgevideo.example",
];

/// The customers' staff: everyone who attends a class, some of them more than once.
pub(super) const LEARNERS: usize = 2200;
