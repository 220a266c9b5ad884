from collections.abc import Mapping

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, PolymorphicProxySerializer, extend_schema
from rest_framework import exceptions, permissions, status
from rest_framework.response import Response
from rest_framework.views import APIView

from feedback.api.schema import BodyRequiredSchema, MentionInOrList
from feedback.api.serializers import (
    ApiErrorSerializer,
    MentionBatchResultSerializer,
    MentionInSerializer,
    MentionOutSerializer,
)
from feedback.intake.batch import MAX_LIST_ITEMS, ingest_mentions
from feedback.intake.ingest import store_mention


class CanAddMentions(permissions.BasePermission):
    message = "This token may not add mentions (it needs the feedback.add_mention permission)."

    def has_permission(self, request, view):
        return request.user.has_perm("feedback.add_mention")


class BadMentionList(exceptions.APIException):
    """A body the endpoint cannot take as a whole (answered in the shared error shape, code below)."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid_body"
    default_detail = f"Send one mention as a JSON object, or up to {MAX_LIST_ITEMS:,} mentions as a JSON list."


class MentionCreateView(APIView):
    """Store one mention, or a list of up to 1,000.

    One mention (a JSON object): 201 with the mention, 200 with the stored one if the same
    source + external_id was already there, 400 with field messages if it is invalid.

    A list: 200 with one outcome per item, in order (`created`, `duplicate` or `error` with field
    messages) and the totals; invalid items never refuse the valid ones. 400 for an empty list or
    one over 1,000 items.
    """

    permission_classes = [permissions.IsAuthenticated, CanAddMentions]
    schema = BodyRequiredSchema()

    @extend_schema(
        request=MentionInOrList(
            component_name="MentionInOrList",
            serializers=[MentionInSerializer, MentionInSerializer(many=True)],
            resource_type_field_name=None,
            many=False,
        ),
        responses={
            201: OpenApiResponse(MentionOutSerializer, description="One mention, stored now."),
            200: OpenApiResponse(
                PolymorphicProxySerializer(
                    component_name="MentionOrBatchResult",
                    serializers=[MentionOutSerializer, MentionBatchResultSerializer],
                    resource_type_field_name=None,
                    many=False,
                ),
                description="One mention that was already stored (the stored one), or the outcome of a list.",
            ),
            400: OpenApiResponse(
                ApiErrorSerializer,
                description="An invalid mention (field messages), an empty list, a list over 1,000 items, or a body "
                            "that is not JSON (bad UTF-8, NaN, nesting too deep, a number of over 4,300 digits).",
            ),
            401: OpenApiResponse(ApiErrorSerializer, description="No token, or one that was revoked."),
            403: OpenApiResponse(ApiErrorSerializer, description="The token may not add mentions."),
            411: OpenApiResponse(ApiErrorSerializer, description="A chunked body without Content-Length."),
            413: OpenApiResponse(ApiErrorSerializer, description="A body over BATON_API_MAX_BYTES (16 MiB)."),
            415: OpenApiResponse(ApiErrorSerializer, description="A body that is not application/json."),
        },
        examples=[
            OpenApiExample(
                "A list",
                request_only=True,
                value=[
                    {"source": "x", "external_id": "1", "author_handle": "dana", "posted_at": "2026-11-25T09:00:00Z",
                     "text": "@airline my bag did not arrive"},
                    {"source": "x", "external_id": "2", "author_handle": "sam", "posted_at": "yesterday",
                     "text": "@airline thanks!"},
                ],
            ),
            OpenApiExample(
                "The outcome of a list",
                response_only=True,
                status_codes=["200"],
                value={
                    "results": [
                        {"index": 0, "outcome": "created", "id": 12},
                        {"index": 1, "outcome": "error", "fields": {"posted_at": [
                            "Datetime has wrong format. Use one of these formats instead: "
                            "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."]}},
                    ],
                    "created": 1, "duplicates": 0, "errors": 1,
                },
            ),
        ],
    )
    def post(self, request):
        if isinstance(request.data, list):
            return self._post_list(request.data)
        if not isinstance(request.data, Mapping):
            raise BadMentionList()
        serializer = MentionInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        mention, created = store_mention(**serializer.validated_data)
        return Response(
            MentionOutSerializer(mention).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    def _post_list(self, items):
        if not items:
            raise BadMentionList("The list is empty: send at least one mention.", code="empty_list")
        if len(items) > MAX_LIST_ITEMS:
            raise BadMentionList(
                f"The list holds {len(items):,} mentions; at most {MAX_LIST_ITEMS:,} are taken per request: "
                f"split it into several requests.",
                code="too_many_items",
            )
        outcome = ingest_mentions(items=items)
        return Response(outcome.as_dict(), status=status.HTTP_200_OK)  # the shape of MentionBatchResultSerializer
