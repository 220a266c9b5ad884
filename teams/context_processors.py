from .selectors import departments_for, is_board


def membership(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"my_departments": list(departments_for(user=user)), "i_am_board": is_board(user=user)}
