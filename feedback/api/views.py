from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import permissions, status
from rest_framework.response import Response
from rest_framework.views import APIView

from feedback.api.serializers import MentionInSerializer, MentionOutSerializer
from feedback.services.ingest import store_mention


class CanAddMentions(permissions.BasePermission):
    message = "This token may not add mentions (it needs the feedback.add_mention permission)."

    def has_permission(self, request, view):
        return request.user.has_perm("feedback.add_mention")


class MentionCreateView(APIView):
    """Store one mention. A repeat of the same source + external_id answers 200 with the stored one."""

    permission_classes = [permissions.IsAuthenticated, CanAddMentions]

    @extend_schema(
        request=MentionInSerializer,
        responses={
            201: MentionOutSerializer,
            200: OpenApiResponse(MentionOutSerializer, description="Already stored: the existing mention."),
        },
    )
    def post(self, request):
        serializer = MentionInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        mention, created = store_mention(**serializer.validated_data)
        return Response(
            MentionOutSerializer(mention).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )
