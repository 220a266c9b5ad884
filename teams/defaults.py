"""The departments every Baton starts with (the domain guide's seven). Constants only: the data
migration and `teams.services.ensure_default_departments` both read them."""

DEPARTMENTS = [
    ("marketing", "Marketing", "Sets the expectations: campaigns, promises, the social team."),
    ("sales", "Sales", "Turns purchase intent into customers."),
    ("after-sales", "After-sales", "Warranty, returns, refunds and changes after a purchase."),
    ("service", "Customer service", "Complaints and questions: fixes what broke."),
    ("product", "Product", "Ideas and defects that change what we make."),
    ("hr", "HR", "Praise of named employees, conduct issues."),
    ("legal", "Legal", "Reviews press and legally sensitive replies."),
]
