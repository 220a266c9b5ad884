"""Meta Graph API webhook payloads (Facebook Pages, Instagram) -> events.

A delivery is {"object": "page" | "instagram", "entry": [{"id", "time", "changes": [{"field", "value"}]}]}.
- Page `feed`: value.item (comment, post, status, photo, video, share, reaction...), value.verb
  (add, edited, remove, hide...), comment_id, post_id, parent_id, from{id, name}, message, created_time.
- Instagram `comments` / `live_comments`: value.id, text, from{id, username}, media{id}, parent_id.
- Instagram `mentions`: value.media_id and comment_id (the text itself is not in the webhook).
- Page `mention`: post_id, comment_id, sender_id, sender_name, message, verb, created_time.
Everything else (reactions, messaging, other fields) is acknowledged and kept in the payload only.
"""

from datetime import datetime

from feedback.choices import Source

from .events import (
    ITEM_ERRORS,
    BrandReply,
    EditMention,
    Ignored,
    NewMention,
    RemoveMention,
    UnknownShape,
    from_epoch,
    rejected_item,
    require,
)

OBJECT_SOURCES = {"page": Source.FACEBOOK, "instagram": Source.INSTAGRAM}
POST_ITEMS = {"post", "status", "photo", "video", "share", "link", "note", "album"}
ADD_VERBS = {"add"}
EDIT_VERBS = {"edited", "edit", "update"}
REMOVE_VERBS = {"remove", "delete"}


def parse(data, *, brand_ids: set[str], brand_handles: set[str], received_at: datetime) -> list:
    require(isinstance(data, dict), "A Meta webhook payload is a JSON object.")
    source = OBJECT_SOURCES.get(data.get("object"))
    require(source is not None, f"object is {data.get('object')!r}, expected 'page' or 'instagram'.")
    entries = data.get("entry")
    require(isinstance(entries, list), "entry is not a list.")
    events: list = []
    for entry in entries:  # one bad entry or change is rejected on its own; the others are taken
        try:
            require(isinstance(entry, dict), "An entry is not an object.")
            if "changes" in entry:
                require(isinstance(entry["changes"], list), "entry.changes is not a list.")
            elif "messaging" in entry or "standby" in entry:
                events.append(Ignored("messaging"))
                continue
            else:
                raise UnknownShape("An entry with neither changes nor messaging.")
        except ITEM_ERRORS as exc:
            events.append(rejected_item("entry", entry, exc))
            continue
        for change in entry["changes"]:
            try:
                require(
                    isinstance(change, dict) and isinstance(change.get("field"), str)
                    and isinstance(change.get("value"), dict),
                    "A change without field and value.",
                )
                events.append(_change(change["field"], change["value"], source=source, entry=entry,
                                      brand_ids=brand_ids, brand_handles=brand_handles, received_at=received_at))
            except ITEM_ERRORS as exc:
                kind = change.get("field") if isinstance(change, dict) and isinstance(change.get("field"), str) else ""
                events.append(rejected_item(kind[:50] or "change", change, exc))
    return events


def _time(value) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, int | float) or (isinstance(value, str) and value.isdigit()):
        return from_epoch(value)
    if isinstance(value, str):
        for parse in (datetime.fromisoformat, lambda text: datetime.strptime(text, "%Y-%m-%dT%H:%M:%S%z")):
            try:
                return parse(value)
            except ValueError:
                continue
    raise UnknownShape(f"Unreadable time {value!r}.")


def _change(field: str, value: dict, *, source: str, entry: dict, brand_ids: set[str], brand_handles: set[str],
            received_at: datetime):
    entry_id = str(entry.get("id") or "")
    item_kind = value.get("item") or ""
    verb = value.get("verb") or "add"

    if field == "feed":
        if item_kind == "comment":
            external_id = value.get("comment_id")
            parent = value.get("parent_id") or value.get("post_id")
        elif item_kind in POST_ITEMS:
            external_id, parent = value.get("post_id"), ""
        else:
            return Ignored(f"feed:{str(item_kind)[:50] or 'unknown'}")
    elif field in ("comments", "live_comments"):
        external_id = value.get("id") or value.get("comment_id")
        media = value.get("media") if isinstance(value.get("media"), dict) else {}
        parent = value.get("parent_id") or media.get("id") or value.get("post_id")
    elif field in ("mentions", "mention"):
        external_id = value.get("comment_id") or value.get("post_id") or value.get("media_id")
        parent = (value.get("media_id") or value.get("post_id")) if value.get("comment_id") else ""
    else:
        return Ignored(f"field:{field[:50]}")
    require(bool(external_id), f"A {field} change without the id of the comment or post.")
    external_id, parent = str(external_id), str(parent or "")

    if verb in REMOVE_VERBS:
        return RemoveMention(source=source, external_id=external_id, removed_at=_time(value.get("created_time")))
    if verb not in ADD_VERBS | EDIT_VERBS:
        return Ignored(f"{field[:50]}:{str(verb)[:50]}")

    author = value.get("from") if isinstance(value.get("from"), dict) else {}
    author_id = str(author.get("id") or value.get("sender_id") or "")
    username = str(author.get("username") or "")
    name = str(author.get("name") or value.get("sender_name") or username)
    text = value.get("message") if isinstance(value.get("message"), str) else value.get("text")
    text = text if isinstance(text, str) else ""
    posted_at = _time(value.get("created_time")) or _time(entry.get("time")) or received_at
    post = value.get("post") if isinstance(value.get("post"), dict) else {}
    url = post.get("permalink_url") or value.get("permalink_url") or (
        f"https://www.facebook.com/{external_id}" if source == Source.FACEBOOK else ""
    )

    is_brand = (bool(author_id) and (author_id in brand_ids or author_id == entry_id)) or (
        bool(username) and username.lower() in brand_handles
    )
    if is_brand:
        if verb in EDIT_VERBS or not parent:
            return Ignored("own_post")
        return BrandReply(source=source, external_id=external_id, in_reply_to=parent, text=text,
                          posted_at=posted_at, url=url, raw={"field": field, "value": value})

    item = {
        "source": source,
        "external_id": external_id,
        "text": text,
        "posted_at": posted_at,
        # Facebook gives no username: the page-scoped user id is the stable handle.
        "author_handle": username or author_id,
        "author_name": name,
        "url": url,
        "raw": {"object": "page" if source == Source.FACEBOOK else "instagram", "entry_id": entry_id,
                "field": field, "author": author, "value": value},
    }
    if verb in EDIT_VERBS:
        return EditMention(source=source, external_id=external_id, text=text,
                           edited_at=_time(entry.get("time")) or received_at, item=item,
                           parent_external_id=parent)
    return NewMention(item=item, parent_external_id=parent)
