import factory

from registry.models import CustomField, IdType


class IdTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = IdType
        django_get_or_create = ("code",)

    code = "nid"
    name = "National ID"
    pattern = r"[0-9]{10}|[0-9]{13}|[0-9]{17}"


class CustomFieldFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomField

    name = factory.Sequence(lambda n: f"field{n}")
    type = CustomField.Type.TEXT
    applies_to = CustomField.AppliesTo.INDIVIDUAL
