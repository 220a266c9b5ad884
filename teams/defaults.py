"""The departments every Baton starts with (the domain guide's seven), and the business week of a
department without its own schedule. Constants only: the data migrations, `teams.models` and
`teams.services.ensure_default_departments` read them."""

DEPARTMENTS = [
    ("marketing", "Marketing", "Sets the expectations: campaigns, promises, the social team."),
    ("sales", "Sales", "Turns purchase intent into customers."),
    ("after-sales", "After-sales", "Warranty, returns, refunds and changes after a purchase."),
    ("service", "Customer service", "Complaints and questions: fixes what broke."),
    ("product", "Product", "Ideas and defects that change what we make."),
    ("hr", "HR", "Praise of named employees, conduct issues."),
    ("legal", "Legal", "Reviews press and legally sensitive replies."),
]

# Business hours of a department without its own schedule: Monday to Friday, 9 to 17.
DEFAULT_WEEK = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
