"""Co-production words in simple language, from the source documents (the seeds)."""

from __future__ import annotations

GLOSSARY: list[tuple[str, str]] = [
    (
        "Co-production",
        "People who use services and the people who run them working together as equal "
        "partners, from the very start, to make or change a service. They share power, "
        "knowledge and responsibility for the result.",
    ),
    (
        "From the start",
        "Involving people “from the very start … before important decisions are taken when "
        "as much as possible can still be influenced and changed”. In coprod: within 30 days "
        "of a decision being identified, and before its options are fixed.",
    ),
    (
        "Working as equals",
        "Partners have different powers, knowledge and skills, but all are recognised as "
        "equally important.",
    ),
    (
        "Tick-box exercise",
        "Involvement done so that it can be said to have happened, not to change anything: "
        "“one-way communication or consultation”, or “giving people a chance to speak, but "
        "not using the information”.",
    ),
    (
        "The ladder of involvement",
        "From least to most power shared: inform (telling people), consult (asking their "
        "views), engage (talking with them over time), co-design (designing it together), "
        "co-produce (designing and delivering it together). Informing never counts as "
        "involvement.",
    ),
    ("Inform", "Telling people about a decision. It is one-way: they cannot change it."),
    (
        "Consult",
        "Asking people for their views, for example in a survey or a formal consultation. "
        "It counts as involvement, but on its own it is one-way.",
    ),
    ("Engage", "Talking and working with people over a period, so their views shape the work."),
    ("Co-design", "Designing a service or a change together with the people who will use it."),
    (
        "Consultation on a done deal",
        "Asking people once the options are already fixed, so little can change. The law's "
        "first Gunning principle says consultation must happen while proposals are still at "
        "a formative stage.",
    ),
    (
        "Gunning principles",
        "Four tests of a fair public consultation: it happens while proposals are still being "
        "formed; people get enough information; they get adequate time to respond; and what "
        "they say is properly taken into account.",
    ),
    (
        "Lived experience",
        "Knowing a service from using it, or from caring for someone who does. People with "
        "lived experience are sometimes called “experts by experience”.",
    ),
    (
        "Disabled People's Organisation (DPO)",
        "An organisation run and controlled by disabled people. DPOs can represent the views "
        "of many disabled people, not just one.",
    ),
    (
        "Health and Social Care Partnership (HSCP)",
        "The NHS board and council working together to plan and run community health and "
        "social care in an area. They have a legal duty to involve people who use services "
        "and carers in planning.",
    ),
    (
        "Integration Joint Board (IJB)",
        "The board that plans health and social care for an area. By law it must include "
        "representatives of people who use services, of carers, of the third sector and of "
        "staff.",
    ),
    (
        "Co-production health-check",
        "A short, regular survey where everyone involved scores statements such as “partners "
        "trust each other” from 1 (strongly disagree) to 5 (strongly agree), to spot problems "
        "early.",
    ),
    (
        "Perception gap",
        "When professionals score a health-check statement much higher than people with lived "
        "experience do. It can mean partners “make wrong assumptions about each other”.",
    ),
    (
        "Attestation",
        "A DPO representative or other participant saying that what officers recorded about an "
        "involvement is right (confirmed) or wrong (disputed). Disputed involvement does not "
        "count.",
    ),
    (
        "Withdrawn record",
        "A record taken out of the figures, with a reason, but never deleted: it stays in the "
        "store and the audit trail, and can be restored.",
    ),
    (
        "Fewer than 5 responses",
        "To protect people's privacy, an average or a count is never shown for a group of "
        "fewer than five people.",
    ),
]
