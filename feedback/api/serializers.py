from rest_framework import serializers

from feedback.choices import Source
from feedback.models import Mention


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
