from rest_framework import serializers

from feedback.choices import Source
from feedback.intake.models import Mention


class MentionInSerializer(serializers.Serializer):
    source = serializers.ChoiceField(choices=Source.choices)
    external_id = serializers.CharField(max_length=200)
    text = serializers.CharField(max_length=10_000)
    posted_at = serializers.DateTimeField()
    author_handle = serializers.CharField(max_length=200)
    author_name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    author_followers = serializers.IntegerField(min_value=0, required=False, allow_null=True, default=None)
    url = serializers.URLField(max_length=500, required=False, allow_blank=True, default="")
    raw = serializers.JSONField(required=False, default=dict)


class MentionOutSerializer(serializers.ModelSerializer):
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
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))
