"""factory_boy factories shared by every test package. Geometries are small squares/points in Bangladesh so that
they can be combined with the real boundaries when a test loads them."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.gis.geos import MultiPolygon, Point, Polygon

from distribution.models import DistributionPoint, Warehouse
from geo.models import Area, AreaScope
from programs.models import FinancialServiceProvider
from registry.models import Household, Individual, Membership
from spmis.core.roles import role_group_name


def square(min_x: float, min_y: float, size: float) -> MultiPolygon:
    return MultiPolygon(Polygon.from_bbox((min_x, min_y, min_x + size, min_y + size)), srid=4326)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.org")
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery staple")

    @classmethod
    def _after_postgeneration(cls, instance, create, results=None):
        # set_password only changes the instance: save it, or sessions made for this user fail their hash check.
        if create:
            instance.save()

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        for role in extracted or ():
            self.groups.add(Group.objects.get(name=role_group_name(role)))

    @factory.post_generation
    def areas(self, create, extracted, **kwargs):
        if extracted:
            scope, _ = AreaScope.objects.get_or_create(user=self)
            scope.areas.set(extracted)


class AreaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Area
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"T{n:04d}")
    name = factory.LazyAttribute(lambda area: f"Area {area.code}")
    level = factory.LazyAttribute(lambda area: 0 if area.parent is None else area.parent.level + 1)
    parent = None
    geom = factory.LazyFunction(lambda: square(90.0, 23.0, 1.0))


class HouseholdFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Household

    external_id = factory.Sequence(lambda n: f"HH{n:07d}")
    location = factory.LazyFunction(lambda: Point(90.5, 23.5, srid=4326))


class IndividualFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Individual

    given_name = factory.Faker("first_name")
    family_name = factory.Faker("last_name")
    birth_date = factory.Faker("date_of_birth", minimum_age=0, maximum_age=90)
    sex = factory.Iterator(["F", "M"])


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    household = factory.SubFactory(HouseholdFactory)
    individual = factory.SubFactory(IndividualFactory)
    role = "head"


class WarehouseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Warehouse

    code = factory.Sequence(lambda n: f"WH{n:03d}")
    name = factory.LazyAttribute(lambda w: f"Warehouse {w.code}")
    location = factory.LazyFunction(lambda: Point(90.4, 23.7, srid=4326))


class DistributionPointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DistributionPoint

    code = factory.Sequence(lambda n: f"DP{n:03d}")
    name = factory.LazyAttribute(lambda d: f"Point {d.code}")
    location = factory.LazyFunction(lambda: Point(90.4, 23.7, srid=4326))


class BankFactory(factory.django.DjangoModelFactory):
    """City Bank PLC (bank code 225 in bdbanks), paid by pain.001.001.09 files."""

    class Meta:
        model = FinancialServiceProvider
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"BANK{n:03d}")
    name = "City Bank PLC"
    kind = "bank"
    currency = "BDT"
    bank_code = "225"
    file_format = "pain.001.001.09"


class WalletProviderFactory(BankFactory):
    code = factory.Sequence(lambda n: f"MFS{n:03d}")
    name = "bKash"
    kind = "mobile_money"
    bank_code = ""
    wallet_provider = "bKash"
    file_format = "csv"
