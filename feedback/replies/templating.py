"""Canned responses: `{{ field }}` placeholders filled from the case (plain text, no template engine)."""

import re

PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")

FIELDS = {
    "first_name": "the customer's first name (\"there\" when unknown)",
    "name": "the customer's full name",
    "handle": "the customer's handle, with @",
    "case_id": "the case number",
    "department": "the department's name",
    "agent_first_name": "your first name",
    "agent_name": "your full name",
}


def unknown_fields(text: str) -> list[str]:
    return sorted({name for name in PLACEHOLDER.findall(text) if name not in FIELDS})


def fields_for(*, case, agent, handle: str = "") -> dict[str, str]:
    name = (case.customer.name or "").strip()
    first = name.split()[0] if name else ""
    agent_name = (agent.get_full_name() or agent.get_username()) if agent is not None else ""
    return {
        "first_name": first or "there",
        "name": name or (f"@{handle}" if handle else "there"),
        "handle": f"@{handle}" if handle else "",
        "case_id": str(case.pk),
        "department": case.department.name,
        "agent_first_name": (agent.first_name or agent_name) if agent is not None else "",
        "agent_name": agent_name,
    }


def render(text: str, values: dict[str, str]) -> str:
    return PLACEHOLDER.sub(lambda match: values.get(match.group(1), match.group(0)), text)


# The recommended response of each assessment as a draft to start from (the agent completes the
# bracketed parts); ignore and monitor only recommend no reply.
DRAFTS = {
    "rectify": "Hi {{ first_name }}, I'm {{ agent_first_name }} from {{ department }}. I'm sorry about this, it is "
               "not the experience we want for you. I'm looking into it now: could you send us your booking details "
               "by private message so we can put it right?",
    "fix_facts": "Hi {{ first_name }}, {{ agent_first_name }} from {{ department }} here. To clear this up: [the "
                 "correct facts]. You can check it here: [link to the source].",
    "concur": "Thank you, {{ first_name }}! I'm {{ agent_first_name }} from {{ department }}, and I'll share this "
              "with the team.",
}
