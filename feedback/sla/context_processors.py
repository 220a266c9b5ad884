from feedback.sla.notifications import unread_count


def notifications(request):
    """The bell: how many unread notifications the signed-in user has (one indexed count)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"unread_notifications": unread_count(user=user)}
