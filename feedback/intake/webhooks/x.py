"""X Account Activity API payloads -> events.

A delivery is {"for_user_id": "<subscribed user>", "<type>_events": [...]}. `tweet_create_events`
carry v1.1 Tweet objects (the text of a long tweet is in `extended_tweet.full_text`);
`tweet_delete_events` mark mentions removed; every other type (favorite_events, follow_events,
direct_message_events, ...) is acknowledged and kept in the stored payload only.
"""

from datetime import datetime

from feedback.choices import Source

from .events import (
    ITEM_ERRORS,
    BrandReply,
    Ignored,
    NewMention,
    RemoveMention,
    UnknownShape,
    from_epoch,
    rejected_item,
    require,
)

CREATED_AT_FORMAT = "%a %b %d %H:%M:%S %z %Y"  # "Wed Oct 10 20:19:24 +0000 2018"


def parse(data, *, brand_ids: set[str], brand_handles: set[str]) -> list:
    require(isinstance(data, dict), "An Account Activity payload is a JSON object.")
    kinds = [key for key in data if key.endswith("_events") or key == "user_event"]
    require(bool(kinds), "No Account Activity event in the payload (no *_events key).")
    for_user_id = str(data.get("for_user_id") or "")
    brand_ids = (brand_ids | {for_user_id}) - {""}
    events: list = []
    for kind in kinds:
        entries = data[kind]
        if kind == "tweet_create_events":
            require(isinstance(entries, list), "tweet_create_events is not a list.")
            for tweet in entries:
                try:
                    events.append(_tweet(tweet, for_user_id=for_user_id, brand_ids=brand_ids,
                                         brand_handles=brand_handles))
                except ITEM_ERRORS as exc:  # this tweet only: the others are taken
                    events.append(rejected_item(kind, tweet, exc))
        elif kind == "tweet_delete_events":
            require(isinstance(entries, list), "tweet_delete_events is not a list.")
            for entry in entries:
                try:
                    events.append(_delete(entry))
                except ITEM_ERRORS as exc:
                    events.append(rejected_item(kind, entry, exc))
        else:
            events.append(Ignored(kind[:60], count=len(entries) if isinstance(entries, list) else 1))
    return events


def full_text(tweet: dict) -> str:
    extended = tweet.get("extended_tweet")
    if isinstance(extended, dict) and isinstance(extended.get("full_text"), str):
        return extended["full_text"]
    for key in ("full_text", "text"):
        if isinstance(tweet.get(key), str):
            return tweet[key]
    raise UnknownShape(f"Tweet {tweet.get('id_str')} has no text.")


def _posted_at(tweet: dict) -> datetime:
    created_at = tweet.get("created_at")
    if isinstance(created_at, str):
        try:
            return datetime.strptime(created_at, CREATED_AT_FORMAT)
        except ValueError:
            pass
    if tweet.get("timestamp_ms"):
        return from_epoch(tweet["timestamp_ms"])
    raise UnknownShape(f"Tweet {tweet.get('id_str')} has no readable created_at.")


def _tweet(tweet, *, for_user_id: str, brand_ids: set[str], brand_handles: set[str]):
    require(isinstance(tweet, dict), "A tweet_create_events entry is not a Tweet object.")
    tweet_id = str(tweet.get("id_str") or tweet.get("id") or "")
    user = tweet.get("user")
    require(bool(tweet_id) and isinstance(user, dict), "A Tweet without id_str or user.")
    screen_name = str(user.get("screen_name") or "")
    user_id = str(user.get("id_str") or user.get("id") or "")
    text = full_text(tweet)
    posted_at = _posted_at(tweet)
    url = f"https://x.com/{screen_name}/status/{tweet_id}" if screen_name else ""
    in_reply_to = str(tweet.get("in_reply_to_status_id_str") or tweet.get("in_reply_to_status_id") or "")

    if user_id in brand_ids or screen_name.lower() in brand_handles:
        if not in_reply_to:
            return Ignored("own_tweet")
        return BrandReply(source=Source.X, external_id=tweet_id, in_reply_to=in_reply_to, text=text,
                          posted_at=posted_at, url=url)
    if isinstance(tweet.get("retweeted_status"), dict) and not tweet.get("is_quote_status"):
        return Ignored("retweet")  # a plain retweet adds no words of its own

    followers = user.get("followers_count")
    item = {
        "source": Source.X,
        "external_id": tweet_id,
        "text": text,
        "posted_at": posted_at,
        "author_handle": screen_name,
        "author_name": str(user.get("name") or ""),
        # A count that is no number is unknown; one out of range breaks the field rules (the item is rejected).
        "author_followers": followers if isinstance(followers, int) and not isinstance(followers, bool) else None,
        "url": url,
        "raw": {
            "platform_event": "tweet_create_events",
            "for_user_id": for_user_id,
            "author": {
                "id": user_id, "screen_name": screen_name, "name": user.get("name"),
                "location": user.get("location"), "description": user.get("description"),
                "verified": user.get("verified"), "followers_count": followers,
            },
            "tweet": tweet,
        },
    }
    return NewMention(item=item, parent_external_id=in_reply_to)


def _delete(entry) -> RemoveMention:
    require(isinstance(entry, dict) and isinstance(entry.get("status"), dict), "A tweet_delete_events entry without status.")
    tweet_id = str(entry["status"].get("id_str") or entry["status"].get("id") or "")
    require(bool(tweet_id), "A tweet_delete_events entry without the tweet id.")
    removed_at = from_epoch(entry["timestamp_ms"]) if entry.get("timestamp_ms") else None
    return RemoveMention(source=Source.X, external_id=tweet_id, removed_at=removed_at)
