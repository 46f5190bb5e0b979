"""Word pools and message templates for the seeds.

The templates come in tones — positive (happy customer, expansion interest), worried
(budget pressure, delays) and angry (outages, escalations, threatened churn) — plus
routine ones, so that an AI briefing over the seeded data has real signal to find.
Placeholders (`{account}`, `{first_name}`, `{product}` …) are filled by `render`.
"""

from __future__ import annotations

import random
from typing import Any

TONES = ("positive", "worried", "angry", "neutral")

# Words that mark each tone; every template of a tone contains at least one of them.
TONE_MARKERS: dict[str, tuple[str, ...]] = {
    "positive": ("thrilled", "delighted", "expan", "happy", "great", "excellent",
                 "impressed", "love", "fantastic", "excited"),
    "worried": ("budget", "delay", "concern", "worried", "postpone", "freeze", "slip",
                "uncertain", "risk", "pushback"),
    "angry": ("outage", "unacceptable", "escalat", "cancel", "frustrat", "churn", "furious",
              "refund", "terminate", "breach"),
}

PRODUCTS = ("HotCRM Cloud", "Analytics Suite", "Data Platform", "Support Plus",
            "Field Service Cloud", "Integration Hub", "Marketing Automation",
            "Commerce Engine", "Forecasting Pro", "Customer Portal")
MODULES = ("reporting", "single sign-on", "public API", "mobile app", "forecasting",
           "data warehouse connector", "approval workflow", "territory management",
           "quoting", "email sync")
COMPETITORS = ("Vortex CRM", "BlueSky Sales", "Pipeline Pro", "Kestrel Software",
               "Orbit Suite", "Lumen Cloud", "Stratus One")
DEPARTMENTS_MENTIONED = ("sales", "finance", "customer service", "operations",
                         "marketing", "field service", "IT")

# -- inbound customer emails: (subject, body) ------------------------------------------
POSITIVE_EMAILS: tuple[tuple[str, str], ...] = (
    ("Great results from the {product} rollout",
     "Hi {owner_first},\n\nI wanted to let you know the {product} rollout at {account} went "
     "better than we hoped. Adoption after the first month is at {percent}% and the "
     "{department} team is thrilled.\n\nThank you for all the support!\n\n{first_name}"),
    ("Expanding to {seats} more seats",
     "Hi {owner_first},\n\nGood news: we would like to expand {product} to another {seats} "
     "seats next quarter, starting with our {department} team. Could you send us an updated "
     "quote?\n\nBest regards,\n{contact}"),
    ("Renewal - happy to go multi-year",
     "Hello {owner_first},\n\nWe are very happy with the service and would like to renew for "
     "three years instead of one. Can we discuss terms next week?\n\nThanks,\n{first_name}"),
    ("Thank you for the quick turnaround",
     "Hi {owner_first},\n\nJust a quick note to say your team did an excellent job on ticket "
     "{ticket}. Fixed within the hour - that is why we love working with you.\n\n"
     "{first_name}"),
    ("Happy to be a reference customer",
     "Hi {owner_first},\n\nWe are delighted with the results so far and would be happy to "
     "act as a reference or do a short case study together.\n\nCheers,\n{contact}\n{account}"),
    ("Adding the {module} module",
     "Hello,\n\nAfter the great experience with {product} we want to add the {module} module "
     "as well. Please include it in the renewal proposal.\n\nKind regards,\n{contact}"),
    ("Our board loved the new dashboards",
     "Hi {owner_first},\n\nI presented the {product} dashboards to our board yesterday and "
     "they were really impressed. Several directors asked whether we can expand usage to "
     "the {department} team.\n\nThanks again,\n{first_name}"),
    ("Another department wants in",
     "Hi {owner_first},\n\nWord has spread - our {department} department wants the same "
     "setup. Can we expand the contract by about {seats} users? Excited to keep "
     "growing with you.\n\n{first_name}"),
    ("Kudos to your support team",
     "Hello,\n\nI just want to say the support we received during our go-live was "
     "fantastic. Please pass on our thanks.\n\nBest,\n{contact}, {account}"),
    ("Ready to sign",
     "Hi {owner_first},\n\nLegal has approved the agreement and we are excited to move "
     "forward. Please send the final version for signature.\n\nRegards,\n{contact}"),
    ("QBR follow-up - excellent feedback",
     "Hi {owner_first},\n\nThanks for the quarterly review. The feedback from our users is "
     "excellent: {percent}% say {product} saves them time every week. Let's plan the next "
     "phase.\n\n{first_name}"),
    ("Referral for you",
     "Hi {owner_first},\n\nWe are so happy with {product} that I recommended you to a partner "
     "company. Expect a call from them this week.\n\nAll the best,\n{first_name}"),
    ("ROI came in faster than expected",
     "Hello {owner_first},\n\nOur finance team ran the numbers: {product} paid for itself in "
     "{weeks} weeks. Great work - we are keen to expand the rollout.\n\n{contact}"),
    ("Pilot was a success",
     "Hi {owner_first},\n\nThe pilot of {product} was a clear success and the team is "
     "thrilled. We would like to discuss a full rollout and an order of about {amount}.\n\n"
     "{first_name}"),
)

WORRIED_EMAILS: tuple[tuple[str, str], ...] = (
    ("Budget review for {product}",
     "Hi {owner_first},\n\nFinance has announced a review of all discretionary spend and our "
     "budget for next year is not confirmed yet. I am concerned we may have to postpone the "
     "{product} project.\n\n{first_name}"),
    ("Go-live timeline is slipping",
     "Hello {owner_first},\n\nOur IT team is behind schedule and the go-live will probably "
     "slip by {weeks} weeks. I wanted to flag the delay early.\n\nRegards,\n{contact}"),
    ("Pricing concerns",
     "Hi {owner_first},\n\nThe latest quote is about {percent}% above what we budgeted. I am "
     "worried it will not get approved in this form. Is there any flexibility?\n\n"
     "{first_name}"),
    ("Procurement pushback",
     "Hello,\n\nProcurement is pushing back on the payment terms and wants net 90. This could "
     "delay the signature into next quarter.\n\nKind regards,\n{contact}"),
    ("New CFO reviewing vendor contracts",
     "Hi {owner_first},\n\nOur new CFO is reviewing every vendor contract, including "
     "{product}. Things are uncertain for the next few weeks and I cannot promise a date.\n\n"
     "{first_name}"),
    ("Adoption lower than expected",
     "Hello {owner_first},\n\nI am a bit worried: only {percent}% of our users log in each "
     "week. Management is asking whether the investment is paying off. Can we talk?\n\n"
     "{contact}"),
    ("Competing offer from {competitor}",
     "Hi {owner_first},\n\n{competitor} has offered us a noticeably lower price. We prefer "
     "working with you, but I am concerned about justifying the difference to "
     "finance.\n\n{first_name}"),
    ("{module} integration still not finished",
     "Hello,\n\nThe {module} integration is still not done and our project plan is at risk. "
     "Every week of delay pushes the rollout further out.\n\nRegards,\n{contact}"),
    ("Can we pause the project?",
     "Hi {owner_first},\n\nWith the hiring freeze we may need to postpone the next phase "
     "until Q{quarter}. I will know more after our planning meeting.\n\n{first_name}"),
    ("Concerns about the renewal terms",
     "Hello {owner_first},\n\nBefore we renew I need to raise some concerns about the price "
     "increase of {percent}%. Our budget for next year is flat.\n\n{contact}"),
    ("Security review taking longer",
     "Hi {owner_first},\n\nOur security team has more questions about data residency. The "
     "review will delay the decision by at least {weeks} weeks, sorry.\n\n{first_name}"),
    ("Possible seat reduction",
     "Hello,\n\nThere is a restructuring in our {department} department and headcount may "
     "shrink. There is a real risk we reduce the number of seats at renewal.\n\n{contact}"),
    ("Question about the last invoice",
     "Hi {owner_first},\n\nOur budget owner is worried about the last invoice of {amount}; it "
     "is higher than forecast. Could you walk us through it?\n\n{first_name}"),
    ("Short on implementation resources",
     "Hello {owner_first},\n\nTwo people on our project team have left and I am concerned we "
     "cannot staff the rollout. Expect some delay on our side.\n\n{contact}"),
)

ANGRY_EMAILS: tuple[tuple[str, str], ...] = (
    ("URGENT: {product} outage",
     "{owner_first},\n\nThis is the second outage this month. Our {department} team could not "
     "work for {hours} hours. This is unacceptable for a service we pay {amount} for.\n\n"
     "{contact}"),
    ("Escalation: ticket {ticket} still unresolved",
     "Hello,\n\nTicket {ticket} has been open for {weeks} weeks without a real answer. I am "
     "escalating this to you directly. We need a fix, not another status update.\n\n"
     "{contact}, {account}"),
    ("We are considering cancelling",
     "{owner_first},\n\nFrankly we are frustrated. The problems we raised months ago are still "
     "there and we are now evaluating {competitor}. Unless something changes we will "
     "cancel.\n\n{first_name}"),
    ("Billing error - again",
     "Hello,\n\nFor the third time we have been overcharged, this time by {amount}. We expect a "
     "refund and an explanation by the end of the week.\n\n{contact}"),
    ("Data missing after your last update",
     "{owner_first},\n\nAfter your last release part of our {department} data is gone. This is "
     "unacceptable. I need to know today what happened and how you will restore it.\n\n"
     "{first_name}"),
    ("Formal complaint",
     "To whom it may concern,\n\nPlease treat this as a formal complaint about the service "
     "{account} has received. The repeated outages have cost us customers and we are "
     "furious.\n\n{contact}"),
    ("SLA breach",
     "Hello {owner_first},\n\nResponse times last month breached the SLA on {percent}% of our "
     "tickets. We will invoke the penalty clause and escalate to your management.\n\n"
     "{contact}"),
    ("Notice: we will not renew",
     "{owner_first},\n\nAfter the latest outage our leadership decided not to renew. Please "
     "treat this as notice that we intend to terminate at the end of the current term.\n\n"
     "{contact}"),
    ("Your support is unacceptable",
     "Hello,\n\nWe waited {hours} hours for a first reply on a priority-one issue. That is "
     "unacceptable and I am frustrated that nobody called us back.\n\n{first_name}"),
    ("Performance is terrible",
     "{owner_first},\n\nPages in {product} take 30 seconds to load and my team is furious. If "
     "this is not fixed this week I will escalate to your CEO.\n\n{contact}"),
    ("The {module} feature you promised does not exist",
     "Hello {owner_first},\n\nDuring the sales process we were promised {module}. It does not "
     "exist. We feel misled and are considering whether to cancel the contract.\n\n"
     "{first_name}"),
    ("Security incident - explanation needed",
     "{owner_first},\n\nWe learned about the security incident from the press, not from you. "
     "That is unacceptable. Our legal team is reviewing the contract for a breach.\n\n"
     "{contact}"),
    ("Final warning",
     "Hello,\n\nIf the outage issues are not fixed by Friday we will churn and move to "
     "{competitor}. I am out of patience.\n\n{contact}, {account}"),
    ("Escalating to our executive sponsor",
     "{owner_first},\n\nI am escalating the ongoing problems with {product} to our executive "
     "sponsor. We are frustrated with the lack of progress and expect a call from your "
     "management.\n\n{first_name}"),
)

NEUTRAL_EMAILS: tuple[tuple[str, str], ...] = (
    ("Agenda for our meeting on Thursday",
     "Hi {owner_first},\n\nHere is a short agenda for Thursday: status of the {product} "
     "project, open questions about {module}, next steps.\n\n{first_name}"),
    ("Updated contact details",
     "Hello,\n\nPlease note my new phone number in my signature. Everything else stays the "
     "same.\n\nRegards,\n{contact}"),
    ("Question about {module}",
     "Hi {owner_first},\n\nDoes {product} support {module} out of the box, or is it an add-on? "
     "Just collecting information for now.\n\n{first_name}"),
    ("Documents for the security questionnaire",
     "Hello,\n\nCould you send the latest security whitepaper and your ISO certificate? Our IT "
     "department needs them for the file.\n\n{contact}"),
    ("Out of office next week",
     "Hi {owner_first},\n\nI am out of office next week; my colleague from {department} will "
     "cover any urgent questions.\n\n{first_name}"),
    ("Invoice address change",
     "Hello,\n\nPlease send future invoices to our new accounts payable address. Thank "
     "you.\n\n{contact}, {account}"),
    ("Training dates",
     "Hi {owner_first},\n\nCan you share the available dates for the next {product} admin "
     "training?\n\n{first_name}"),
    ("Meeting notes",
     "Hello {owner_first},\n\nAttached are our notes from today's call. Let me know if I "
     "missed anything.\n\n{contact}"),
)

OUTBOUND_EMAILS: tuple[tuple[str, str], ...] = (
    ("Following up on our conversation",
     "Hi {first_name},\n\nThanks for your time today. As discussed I will send the proposal "
     "for {product} by {date}.\n\nBest,\n{owner}"),
    ("Proposal for {account}",
     "Hello {first_name},\n\nPlease find our proposal for {product} attached: {seats} seats "
     "for a total of {amount}. Happy to walk you through it.\n\nKind regards,\n{owner}"),
    ("Re: outage - our action plan",
     "Hi {first_name},\n\nI am very sorry about the outage. Our engineering team has found the "
     "cause; here is the action plan and the credit we will apply to your next invoice.\n\n"
     "{owner}"),
    ("Re: budget - options for you",
     "Hello {first_name},\n\nI understand the budget concerns. We could phase the rollout or "
     "start with {seats} seats and expand later. Let me know what works.\n\n{owner}"),
    ("Thank you!",
     "Hi {first_name},\n\nThank you for the great feedback - I have shared it with the whole "
     "team. Let's schedule the expansion workshop.\n\n{owner}"),
    ("Quarterly business review invitation",
     "Hello {first_name},\n\nI would like to invite you to our quarterly business review on "
     "{date}. We will review usage, open tickets and the roadmap.\n\n{owner}"),
    ("Renewal of your {product} subscription",
     "Hi {first_name},\n\nYour subscription renews on {date}. I have prepared the renewal "
     "quote of {amount}; let me know if anything should change.\n\n{owner}"),
    ("Introduction to your new support contact",
     "Hello {first_name},\n\nI would like to introduce your dedicated support engineer, who "
     "will join our next call.\n\n{owner}"),
)

INBOUND_EMAILS: dict[str, tuple[tuple[str, str], ...]] = {
    "positive": POSITIVE_EMAILS, "worried": WORRIED_EMAILS, "angry": ANGRY_EMAILS,
    "neutral": NEUTRAL_EMAILS,
}

# -- activity notes (descriptions of calls, meetings and notes) ------------------------
ACTIVITY_NOTES: dict[str, tuple[str, ...]] = {
    "positive": (
        "{contact} is very happy with {product} and wants to expand to {seats} more users. "
        "Sending a proposal.",
        "Great call: the {department} team loves the new dashboards. Asked for a reference "
        "call slot.",
        "{first_name} was delighted with the support during go-live. Renewal looks safe.",
        "Customer is excited about the {module} module; budget already approved.",
        "QBR went excellent - usage up {percent}% quarter over quarter.",
        "{first_name} happy to be a reference customer and to speak at our user day.",
        "Expansion interest: {department} wants the same setup. Follow up with a quote.",
        "Impressed with the ROI numbers; champion is pushing for a multi-year renewal.",
        "Positive meeting with the executive sponsor; wants to expand next quarter.",
        "{contact} thrilled with the pilot results, asked for pricing for a full rollout.",
        "Fantastic feedback from end users; NPS survey came back at 9.",
        "Happy customer - signed off the acceptance test without open items.",
    ),
    "worried": (
        "{contact} flagged budget pressure; decision may slip to Q{quarter}.",
        "Go-live at risk: their IT team is behind, expect a delay of {weeks} weeks.",
        "Pricing concern - quote is {percent}% above their budget. Discuss discount options.",
        "Procurement pushback on payment terms; signature likely delayed.",
        "New CFO reviewing all vendors; renewal uncertain until review is done.",
        "{first_name} worried about low adoption ({percent}% weekly active).",
        "{competitor} is in the deal with a lower price; {contact} concerned about the gap.",
        "Hiring freeze at {account}; project may be postponed.",
        "Security review will delay the decision by {weeks} weeks.",
        "Risk: seat count may shrink at renewal due to restructuring in {department}.",
        "Budget owner questioned the last invoice; need to walk them through it.",
        "Champion {first_name} is leaving next month - risk to the renewal.",
    ),
    "angry": (
        "{contact} furious about the outage last week; threatened to cancel if it happens "
        "again. Escalated to support lead.",
        "Escalation call: ticket {ticket} open for {weeks} weeks, customer very frustrated.",
        "{first_name} says the service is unacceptable; evaluating {competitor}.",
        "Billing dispute - customer demands a refund of {amount}.",
        "Customer reported data loss after the last release; escalated to engineering.",
        "Formal complaint received from {contact}; legal mentioned a possible breach of "
        "contract.",
        "SLA breached on {percent}% of tickets last month; penalty clause invoked.",
        "{contact} gave notice they intend to terminate at end of term. High churn risk.",
        "Angry call: priority-one issue waited {hours} hours for a response. Unacceptable "
        "per customer.",
        "Performance complaints; {first_name} will escalate to our CEO if not fixed this "
        "week.",
        "Customer feels misled about {module}; considering whether to cancel the contract.",
        "Churn risk: {contact} said they will move to {competitor} after the next outage.",
    ),
    "neutral": (
        "Discussed project status and open questions about {module}.",
        "Walked {contact} through the {product} roadmap.",
        "Agreed next steps: technical workshop and a draft proposal.",
        "Checked in with {first_name}; nothing new to report.",
        "Collected requirements from the {department} team.",
        "Reviewed open support tickets; all on track.",
        "Introduced the new support engineer to the customer team.",
        "Updated the stakeholder map after the reorganisation.",
    ),
}

ACTIVITY_SUBJECTS: dict[str, tuple[str, ...]] = {
    "call": ("Call with {contact}", "Discovery call", "Check-in call with {first_name}",
             "Pricing discussion", "Follow-up call about {product}", "Reference call",
             "Renewal call", "Support escalation call", "Intro call with {account}"),
    "meeting": ("Quarterly business review", "On-site demo at {account}",
                "Technical deep dive: {module}", "Negotiation meeting",
                "Executive sponsor meeting", "Workshop with the {department} team",
                "Project status meeting", "Lunch with {first_name}"),
    "task": ("Send proposal to {contact}", "Prepare QBR deck for {account}",
             "Update pricing sheet", "Chase signature", "Schedule demo for {first_name}",
             "Send security whitepaper", "Follow up on open invoice",
             "Book training for {account}", "Prepare renewal quote"),
    "email": ("Emailed pricing to {first_name}", "Sent follow-up email",
              "Sent meeting summary", "Emailed case study", "Sent renewal reminder"),
    "note": ("Account note", "Internal note: renewal outlook", "Note from trade show",
             "Stakeholder update", "Competitive intel", "Note after call with {first_name}"),
}

OPPORTUNITY_DEALS = ("Platform licence", "Analytics add-on", "Renewal", "Expansion",
                     "Support upgrade", "Pilot", "Enterprise agreement", "Data migration",
                     "Training package", "Integration services", "Multi-year renewal",
                     "New business unit rollout")
NEXT_STEPS = ("Send proposal", "Schedule demo", "Technical workshop", "Call with procurement",
              "Legal review", "Executive sponsor meeting", "Pricing approval",
              "Reference call", "Security questionnaire", "Final negotiation")

LEVEL_TITLES: dict[str, tuple[str, ...]] = {
    "c_level": ("Chief Executive Officer", "Chief Financial Officer",
                "Chief Technology Officer", "Chief Operating Officer",
                "Chief Information Officer", "Chief Revenue Officer"),
    "vp": ("VP Sales", "VP Engineering", "VP Operations", "VP Finance", "VP Marketing",
           "VP Customer Success"),
    "director": ("Director of IT", "Director of Procurement", "Director of Operations",
                 "Sales Director", "Finance Director", "Marketing Director"),
    "manager": ("IT Manager", "Operations Manager", "Procurement Manager", "Sales Manager",
                "Project Manager", "Customer Service Manager"),
    "individual_contributor": ("Business Analyst", "Software Engineer", "Buyer",
                               "System Administrator", "Accountant", "Account Specialist",
                               "Consultant"),
}
TITLE_DEPARTMENTS = {"Chief": "Executive", "Sales": "Sales", "Engineer": "Engineering",
                     "IT": "IT", "System": "IT", "Technology": "Executive",
                     "Operations": "Operations", "Finance": "Finance", "Accountant": "Finance",
                     "Marketing": "Marketing", "Procurement": "Procurement",
                     "Buyer": "Procurement", "Customer": "Customer Success"}


def department_for(title: str) -> str:
    for key, department in TITLE_DEPARTMENTS.items():
        if key in title:
            return department
    return "Operations"


# -- pools for the large seed (no Faker per row) ---------------------------------------
FIRST_NAMES = (
    "James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "William",
    "Elizabeth", "David", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas",
    "Sarah", "Charles", "Karen", "Christopher", "Nancy", "Daniel", "Lisa", "Matthew", "Betty",
    "Anthony", "Margaret", "Mark", "Sandra", "Donald", "Ashley", "Steven", "Kimberly", "Paul",
    "Emily", "Andrew", "Donna", "Joshua", "Michelle", "Kenneth", "Carol", "Kevin", "Amanda",
    "Brian", "Dorothy", "George", "Melissa", "Timothy", "Deborah", "Ronald", "Stephanie",
    "Jason", "Rebecca", "Edward", "Sharon", "Jeffrey", "Laura", "Ryan", "Cynthia", "Jacob",
    "Kathleen", "Gary", "Amy", "Nicholas", "Angela", "Eric", "Shirley", "Jonathan", "Anna",
    "Stephen", "Brenda", "Larry", "Pamela", "Justin", "Emma", "Scott", "Nicole", "Brandon",
    "Helen", "Benjamin", "Samantha", "Samuel", "Katherine", "Gregory", "Christine", "Noah",
    "Sofia", "Lucas", "Chloe", "Mateo", "Priya", "Arjun", "Mei", "Wei", "Yuki", "Hiroshi",
    "Fatima", "Omar", "Lena", "Jonas", "Clara", "Felix", "Ingrid", "Lars", "Elena", "Marco",
    "Giulia", "Pierre", "Camille", "Aisha", "Kwame", "Zara", "Diego", "Lucia", "Ravi",
)
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
    "Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson",
    "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White",
    "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen",
    "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams",
    "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Gomez",
    "Phillips", "Evans", "Turner", "Diaz", "Parker", "Cruz", "Edwards", "Collins", "Reyes",
    "Stewart", "Morris", "Morales", "Murphy", "Cook", "Rogers", "Gutierrez", "Ortiz",
    "Morgan", "Cooper", "Peterson", "Bailey", "Reed", "Kelly", "Howard", "Ramos", "Kim",
    "Cox", "Ward", "Richardson", "Watson", "Brooks", "Chavez", "Wood", "James", "Bennett",
    "Gray", "Mendoza", "Ruiz", "Hughes", "Price", "Alvarez", "Castillo", "Sanders", "Patel",
    "Myers", "Long", "Ross", "Foster", "Jimenez", "Muller", "Schmidt", "Schneider",
    "Fischer", "Weber", "Becker", "Hoffmann", "Dubois", "Laurent", "Bernard", "Rossi",
    "Russo", "Ferrari", "Tanaka", "Suzuki", "Sato", "Chen", "Wang", "Li", "Zhang", "Singh",
    "Kumar", "Shah", "Okafor", "Mensah", "Nilsson", "Larsen", "Jansen", "de Vries", "Novak",
    "Kowalski", "Silva", "Santos", "Costa", "O'Brien", "Murray", "MacLeod", "Fraser",
)
COMPANY_WORDS = (
    "Apex", "Blue River", "Cedar", "Summit", "Northwind", "Ironclad", "Silverline",
    "Brightpath", "Redwood", "Granite", "Harbor", "Evergreen", "Pinnacle", "Vertex", "Horizon",
    "Keystone", "Lighthouse", "Meridian", "Oakridge", "Polaris", "Quantum", "Riverbend",
    "Sterling", "Trident", "Unity", "Vantage", "Westfield", "Zenith", "Atlas", "Beacon",
    "Cobalt", "Crescent", "Delta", "Eagle", "Falcon", "Frontier", "Global", "Highland",
    "Insight", "Juniper", "Kinetic", "Liberty", "Maple", "Nova", "Orion", "Pacific",
    "Prairie", "Royal", "Sapphire", "Silver Oak", "Skyline", "Starlight", "Sunrise", "Titan",
    "Triad", "True North", "Urban", "Valley", "Vista", "Willow", "Aspen", "Bluebird",
    "Canyon", "Clearwater", "Coastal", "Copper", "Crystal", "Diamond", "Elm", "Emerald",
    "Fairview", "Foxglove", "Glacier", "Hawthorne", "Heritage", "Ivy", "Jade", "Lakeside",
    "Lion", "Magnolia", "Metro", "Mosaic", "Northstar", "Onyx", "Peak", "Pioneer", "Quarry",
    "Rapid", "Ridge", "Sage", "Seaside", "Sequoia", "Spruce", "Stonebridge", "Tidewater",
    "Trinity", "Union", "Vector", "Wavelength", "Whitestone", "Amber", "Arrow", "Bridge",
    "Cascade", "Compass", "Condor", "Echo", "Ember", "Fusion", "Gateway", "Harmony",
    "Infinity", "Lantern", "Lotus", "Mariner", "Matrix", "Monarch", "Nimbus", "Oasis",
    "Paragon", "Phoenix", "Prism", "Radiant", "Sentinel", "Solstice", "Spark", "Sterling Park",
    "Tandem", "Terra", "Velocity", "Voyager", "Windmill",
)
INDUSTRY_NOUNS: dict[str, tuple[str, ...]] = {
    "technology": ("Systems", "Software", "Labs", "Networks", "Digital", "Data", "Cloud",
                   "Technologies", "Computing", "Robotics"),
    "finance": ("Capital", "Financial", "Bank", "Investments", "Insurance", "Wealth",
                "Asset Management", "Credit Union", "Securities", "Payments"),
    "manufacturing": ("Manufacturing", "Industries", "Works", "Metals", "Machinery",
                      "Plastics", "Components", "Fabrication", "Tooling", "Motors"),
    "retail": ("Retail", "Stores", "Outfitters", "Market", "Goods", "Trading", "Supply",
               "Home & Garden", "Fashion", "Grocers"),
    "healthcare": ("Health", "Medical", "Clinics", "Pharma", "Care", "Biotech",
                   "Diagnostics", "Hospital Group", "Therapeutics", "Dental"),
    "education": ("Academy", "Learning", "College", "Institute", "Education", "Schools",
                  "University Press", "Training", "Tutoring", "EdTech"),
    "real_estate": ("Properties", "Realty", "Estates", "Developments", "Homes", "Land",
                    "Property Group", "Residential", "Commercial Real Estate", "Housing"),
    "energy": ("Energy", "Power", "Solar", "Utilities", "Renewables", "Wind", "Grid",
               "Hydro", "Fuels", "Battery"),
    "consulting": ("Consulting", "Advisors", "Associates", "Partners", "Strategies",
                   "Management", "Analytics", "Advisory", "Solutions", "Group"),
    "other": ("Holdings", "Services", "Enterprises", "Logistics", "Foods", "Media",
              "Transport", "Hospitality", "Travel", "Agency"),
}
COMPANY_SUFFIXES = ("Inc.", "LLC", "Ltd.", "GmbH", "Corp.", "Co.", "plc", "S.A.", "AG",
                    "B.V.", "Pty Ltd", "Group")
STREET_NAMES = ("Main St", "Oak Ave", "Maple Dr", "Park Rd", "Cedar Ln", "Elm St",
                "Washington Blvd", "Lake View Rd", "Hill St", "Market St", "Church Rd",
                "High St", "Station Rd", "Mill Ln", "River Rd", "Harbor Way", "King St",
                "Queen St", "Bahnhofstrasse", "Rue de la Paix", "Via Roma", "Sunset Blvd",
                "Industrial Pkwy", "Commerce Dr", "Innovation Way")
# (city, state/province, country, postal code prefix, phone prefix)
CITIES: tuple[tuple[str, str, str, str, str], ...] = (
    ("New York", "NY", "United States", "100", "+1 212"),
    ("San Francisco", "CA", "United States", "941", "+1 415"),
    ("Austin", "TX", "United States", "787", "+1 512"),
    ("Chicago", "IL", "United States", "606", "+1 312"),
    ("Boston", "MA", "United States", "021", "+1 617"),
    ("Seattle", "WA", "United States", "981", "+1 206"),
    ("Denver", "CO", "United States", "802", "+1 303"),
    ("Atlanta", "GA", "United States", "303", "+1 404"),
    ("Miami", "FL", "United States", "331", "+1 305"),
    ("Minneapolis", "MN", "United States", "554", "+1 612"),
    ("Phoenix", "AZ", "United States", "850", "+1 602"),
    ("Portland", "OR", "United States", "972", "+1 503"),
    ("Toronto", "ON", "Canada", "M5V", "+1 416"),
    ("Vancouver", "BC", "Canada", "V6B", "+1 604"),
    ("London", "Greater London", "United Kingdom", "EC1", "+44 20"),
    ("Manchester", "Greater Manchester", "United Kingdom", "M1", "+44 161"),
    ("Dublin", "Leinster", "Ireland", "D02", "+353 1"),
    ("Berlin", "Berlin", "Germany", "101", "+49 30"),
    ("Munich", "Bavaria", "Germany", "803", "+49 89"),
    ("Hamburg", "Hamburg", "Germany", "204", "+49 40"),
    ("Paris", "Ile-de-France", "France", "750", "+33 1"),
    ("Lyon", "Auvergne-Rhone-Alpes", "France", "690", "+33 4"),
    ("Amsterdam", "North Holland", "Netherlands", "101", "+31 20"),
    ("Madrid", "Madrid", "Spain", "280", "+34 91"),
    ("Milan", "Lombardy", "Italy", "201", "+39 02"),
    ("Zurich", "Zurich", "Switzerland", "800", "+41 44"),
    ("Stockholm", "Stockholm", "Sweden", "111", "+46 8"),
    ("Copenhagen", "Capital Region", "Denmark", "105", "+45 33"),
    ("Sydney", "NSW", "Australia", "200", "+61 2"),
    ("Melbourne", "VIC", "Australia", "300", "+61 3"),
    ("Singapore", "Singapore", "Singapore", "018", "+65 6"),
    ("Tokyo", "Tokyo", "Japan", "100", "+81 3"),
)


def fill_values(rng: random.Random, **known: Any) -> dict[str, Any]:
    """Placeholder values: the known ones (account, contact …) plus random filler."""
    values: dict[str, Any] = {
        "product": rng.choice(PRODUCTS), "module": rng.choice(MODULES),
        "competitor": rng.choice(COMPETITORS), "department": rng.choice(DEPARTMENTS_MENTIONED),
        "seats": rng.choice((10, 25, 50, 75, 100, 150, 250, 500)),
        "percent": rng.randint(12, 85), "weeks": rng.randint(2, 10),
        "hours": rng.randint(3, 30), "quarter": rng.randint(1, 4),
        "ticket": f"#{rng.randint(10000, 99999)}",
        "amount": f"${rng.choice((8, 12, 18, 25, 40, 60, 95, 120, 250))},{rng.randint(0, 9)}00",
        "account": "your company", "contact": "the customer", "first_name": "there",
        "owner": "Your account manager", "owner_first": "there", "date": "next week",
    }
    values.update({k: v for k, v in known.items() if v is not None})
    return values


def render(template: str, values: dict[str, Any]) -> str:
    return template.format_map(values)


def pick_tone(rng: random.Random, mood: str) -> str:
    """A message tone for an account with the given mood: mostly the mood, some noise."""
    roll = rng.random()
    if mood == "neutral":
        return "neutral" if roll < 0.6 else rng.choice(("positive", "worried"))
    if roll < 0.65:
        return mood
    if roll < 0.9:
        return "neutral"
    return rng.choice([t for t in ("positive", "worried", "angry") if t != mood])
