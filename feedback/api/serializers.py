from rest_framework import serializers

from config.patterns import HTTP_URL
from feedback.api.schema import (
    NO_NUL,
    NOT_BLANK,
    BlankableUrlField,
    FollowersField,
    PatternCharField,
    PatternUrlField,
    RawJsonField,
    padded,
)
from feedback.choices import Intent, Sentiment, Source
from feedback.intake import validation as rules
from feedback.intake.models import Mention

_LENGTH = rules.MAX_LENGTH


class MentionInSerializer(serializers.Serializer):
    """One mention in. The fields document the rules of `feedback.intake.validation` (built from its
    limits, for the schema); validating goes through that module, as the list endpoint and the file
    import do, so each rule is stated and checked in one place."""

    source = serializers.ChoiceField(choices=[(value, Source(value).label) for value in rules.SOURCES])
    external_id = PatternCharField(max_length=_LENGTH["external_id"], pattern=NOT_BLANK, numbers=True)
    text = PatternCharField(max_length=_LENGTH["text"], pattern=NOT_BLANK, numbers=True)
    posted_at = serializers.DateTimeField()
    author_handle = PatternCharField(max_length=_LENGTH["author_handle"], pattern=NOT_BLANK, numbers=True)
    author_name = PatternCharField(max_length=_LENGTH["author_name"], required=False, allow_blank=True, default="",
                                   pattern=NO_NUL, numbers=True)
    author_followers = FollowersField(min_value=rules.FOLLOWERS_MIN, max_value=rules.FOLLOWERS_MAX,
                                      required=False, allow_null=True, default=None)
    url = PatternUrlField(max_length=_LENGTH["url"], required=False, allow_blank=True, default="",
                          pattern=padded(HTTP_URL), help_text="An http(s) URL, or blank.")
    raw = RawJsonField(required=False, default=dict,
                       help_text=f"Any JSON value, at most {rules.RAW_MAX_CHARS:,} characters as JSON text.")

    def to_internal_value(self, data):
        validated, errors = rules.validate_mention(data)
        if errors:
            raise serializers.ValidationError(errors)
        return validated


class MentionOutSerializer(serializers.ModelSerializer):
    # Blank until the mention is processed: declared here so that the schema's enums and format say so (a
    # read-only model field would lose `allow_blank`).
    intent = serializers.ChoiceField(choices=Intent.choices, allow_blank=True, read_only=True)
    sentiment_label = serializers.ChoiceField(choices=Sentiment.choices, allow_blank=True, read_only=True)
    url = BlankableUrlField(read_only=True)

    class Meta:
        model = Mention
        fields = [
            "id", "source", "external_id", "author_handle", "author_name", "author_followers", "text", "url",
            "posted_at", "received_at", "status", "sentiment", "sentiment_label", "intent", "customer", "case",
        ]
        read_only_fields = fields


class MentionOutcomeSerializer(serializers.Serializer):
    """What happened to one item of a list: stored now, already stored, or refused with field messages."""

    index = serializers.IntegerField(help_text="Position of the item in the list, from 0.")
    outcome = serializers.ChoiceField(choices=["created", "duplicate", "error"])
    id = serializers.IntegerField(required=False, help_text="The mention's id (created or duplicate).")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Field messages, for an item refused with outcome `error`.",
    )


class MentionBatchResultSerializer(serializers.Serializer):
    """The answer to a list of mentions: one outcome per item, in order, and the totals."""

    results = MentionOutcomeSerializer(many=True)
    created = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    errors = serializers.IntegerField()


class ApiErrorSerializer(serializers.Serializer):
    """The one error shape of the API (config.api.exception_handler)."""

    code = serializers.CharField()
    message = serializers.CharField()
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Field name -> messages; an item of a list or a nested field is named by its path "
                  "(`event_types.1`). Empty when the error is not about fields.")
