from django.conf import settings
from django.db import models


class Department(models.Model):
    """A team that owns cases: marketing, sales, after-sales, service, product, hr, legal."""

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=80)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Role(models.TextChoices):
    AGENT = "agent", "Agent"
    LEAD = "lead", "Lead"
    HEAD = "head", "Head"


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.AGENT)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "department"], name="membership_unique_user_department")]

    def __str__(self):
        return f"{self.user} ({self.role}, {self.department})"


class BoardSeat(models.Model):
    """The board role: sees aggregates on the board dashboard, not customer-level data."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="board_seat")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"Board: {self.user}"
