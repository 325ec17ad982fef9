"""Columns of organisations, people, places and free text for a row draw: enterprise and institution
names, person names agreeing with the ID's gender, addresses, certificates, phones, e-mails."""

from __future__ import annotations

import numpy as np

from assets.landing.generator import primitives as P
from assets.landing.generator import tables as T
from assets.landing.generator.context import Profile


class TextColumns:
    """Mixed into the row draw (:class:`assets.landing.generator.rows.RowDraw`), whose drawn columns,
    people and townships these columns agree with."""

    # -- organisations -------------------------------------------------------------------------

    def _profile_rows(self) -> Profile:
        """Registration type and industry of the entity each row describes."""
        if self._profile is None:
            rng, n = self.rng, self.n
            categories = self.text.get("category")
            if categories is not None and np.isin(categories, list(T.MEDICAL_USCC_TYPES)).all():
                registration = np.empty(n, dtype="U2")
                for category, types in T.MEDICAL_USCC_TYPES.items():
                    rows = categories == category
                    if rows.any():
                        registration[rows] = P.weighted(rng, types, int(rows.sum()))
            else:
                registration = P.weighted(rng, T.OWN_USCC_TYPES, n)
            weights = np.array([i.weight for i in T.INDUSTRIES], dtype=float)
            farm = np.array([i.cooperative is not None for i in T.INDUSTRIES])
            industry = rng.choice(len(weights), size=n, p=weights / weights.sum())
            coop = registration == "93"
            if coop.any():
                farm_weights = np.where(farm, weights, 0.0)
                industry[coop] = rng.choice(
                    len(weights), size=int(coop.sum()), p=farm_weights / farm_weights.sum()
                )
            self._profile = Profile(registration, industry)
        return self._profile

    def _is_organisation_register(self) -> bool:
        return bool(self.b.columns_of("entity_name", "institution_name", "industry"))

    def _uscc(self, column: str) -> np.ndarray:
        item = self.entry.item(column)
        if column == "uscc" or item.unique:
            registration = self._profile_rows().registration
        else:
            registration = P.weighted(self.rng, T.EMPLOYER_USCC_TYPES, self.n)
        return P.usccs(self.rng, registration, self.county.code)

    def _industry(self, column: str) -> np.ndarray:
        codes = np.array([i.code for i in T.INDUSTRIES])
        return codes[self._profile_rows().industry]

    def _trade_names(self, n: int) -> np.ndarray:
        chars = list(T.TRADE_NAME_CHARS)
        return P.concat(P.uniform_pick(self.rng, chars, n), P.uniform_pick(self.rng, chars, n))

    def _enterprise_names(self, registration: np.ndarray, industry: np.ndarray) -> np.ndarray:
        rng, n = self.rng, len(registration)
        city, county = self.ctx.city.city.name, self.county.name
        province = T.PROVINCE_BY_PREFIX.get(self.ctx.province_prefix, "")[:2] or city
        u = rng.random(n)
        area = np.where(u < 0.45, province, np.where(u < 0.75, city, county))
        trade = self._trade_names(n)
        enterprise = np.array([i.enterprise for i in T.INDUSTRIES])[industry]
        shop = np.array([i.shop for i in T.INDUSTRIES])[industry]
        coop = np.array([i.cooperative or i.enterprise for i in T.INDUSTRIES])[industry]
        townships = self._draw_townships()[:n]
        company = P.concat(area, trade, enterprise, P.weighted(rng, T.ENTERPRISE_FORMS, n))
        individual = P.concat(county, trade, shop)
        cooperative = P.concat(county, townships, trade, coop, "专业合作社")
        return np.where(
            registration == "92", individual, np.where(registration == "93", cooperative, company)
        )

    def _entity_name(self, column: str) -> np.ndarray:
        profile = self._profile_rows()
        return self._enterprise_names(profile.registration, profile.industry)

    def _institution_name(self, column: str) -> np.ndarray:
        rng, n = self.rng, self.n
        county = self.county.name
        categories = self.text.get("category", np.full(n, "综合医院"))
        trade = self._trade_names(n)
        township = self._address_townships()
        village = P.uniform_pick(rng, T.VILLAGE_STEMS, n)
        specialty = P.uniform_pick(rng, T.SPECIALTIES, n)
        surname = P.weighted(rng, T.HAN_SURNAMES, n)
        compound = P.uniform_pick(rng, T.COMPOUND_STEMS, n)
        patterns = {
            "综合医院": P.concat(county, trade, "医院"),
            "中医医院": P.concat(county, trade, "中医医院"),
            "专科医院": P.concat(county, trade, specialty, "医院"),
            "乡镇卫生院": P.concat(county, township, "卫生院"),
            "社区卫生服务中心": P.concat(county, township, compound, "社区卫生服务中心"),
            "村卫生室": P.concat(township, village, "村卫生室"),
            "诊所": np.where(
                rng.random(n) < 0.5,
                P.concat(county, surname, "氏诊所"),
                P.concat(county, trade, specialty, "诊所"),
            ),
        }
        out = patterns["综合医院"].astype(object)
        for category, names in patterns.items():
            rows = categories == category
            out[rows] = names[rows]
        return out.astype(str)

    # -- people, places, text ------------------------------------------------------------------

    def _person_name(self, column: str) -> np.ndarray:
        names = self.b.columns_of("person_name")
        ids = self.b.columns_of("id", "id_or_uscc")
        position = names.index(column)
        people = self.people.get(ids[position]) if position < len(ids) else None
        male = people.male if people is not None else self.rng.random(self.n) < 0.51
        out = P.person_names(
            self.rng,
            male,
            self._hui_rows(),
            han_surnames=T.HAN_SURNAMES,
            hui_surnames=T.HUI_SURNAMES,
            male_given=T.MALE_GIVEN,
            female_given=T.FEMALE_GIVEN,
            single_share=T.SINGLE_GIVEN_NAME_SHARE,
        ).astype(object)
        if people is not None and people.entity.any():
            k = int(people.entity.sum())
            weights = np.array([i.weight for i in T.INDUSTRIES], dtype=float)
            industry = self.rng.choice(len(weights), size=k, p=weights / weights.sum())
            out[people.entity] = self._enterprise_names(np.full(k, "91"), industry)
        return out.astype(str)

    def _house_numbers(self) -> np.ndarray:
        return P.small_numbers(self.rng, 1, 299, self.n)

    def _apartments(self) -> np.ndarray:
        rng, n = self.rng, self.n
        compound = P.concat(
            P.uniform_pick(rng, T.COMPOUND_STEMS, n), P.uniform_pick(rng, T.COMPOUND_SUFFIXES, n)
        )
        floor = P.small_numbers(rng, 1, 18, n)
        room = np.strings.zfill(P.small_numbers(rng, 1, 4, n), 2)
        return P.concat(
            compound,
            P.small_numbers(rng, 1, 30, n),
            "号楼",
            P.small_numbers(rng, 1, 4, n),
            "单元",
            floor,
            room,
            "室",
        )

    def _address(self, column: str) -> np.ndarray:
        rng, n = self.rng, self.n
        county, township = self.county.name, self._address_townships()
        road = P.uniform_pick(rng, T.ROADS, n)
        if self.entry.item(column).pii != "address":  # a business's or institution's address
            return P.concat(county, township, road, self._house_numbers(), "号")
        province = T.PROVINCE_BY_PREFIX.get(self.ctx.province_prefix, "")
        head = P.concat(province, self.ctx.city.city.name, county, township)
        village = P.concat(
            P.uniform_pick(rng, T.VILLAGE_STEMS, n),
            "村",
            P.small_numbers(rng, 1, 12, n),
            "组",
            self._house_numbers(),
            "号",
        )
        urban = P.concat(road, self._house_numbers(), "号", self._apartments())
        return P.concat(head, np.where(rng.random(n) < 0.55, village, urban))

    def _location(self, column: str) -> np.ndarray:
        rng, n = self.rng, self.n
        street = P.concat(
            self.county.name,
            self._address_townships(),
            P.uniform_pick(rng, T.ROADS, n),
            self._house_numbers(),
            "号",
        )
        usage = self.text.get("usage", np.full(n, "住宅"))
        detail = np.where(
            usage == "商业",
            P.concat("商铺", P.small_numbers(rng, 1, 60, n), "号"),
            np.where(usage == "工业", P.concat(P.small_numbers(rng, 1, 9, n), "号厂房"), ""),
        )
        homes = np.isin(usage, ["住宅", "办公"])
        return np.where(homes, P.concat(street, self._apartments()), P.concat(street, detail))

    def _certificate(self, column: str) -> np.ndarray:
        rng, n = self.rng, self.n
        dated = self.b.columns_of("date")
        if dated:
            year = P.date_parts(self.dates[dated[0]])[0].astype(str)
        else:
            year = np.full(n, str(self.ctx.period.end.year))
        number = np.strings.zfill(rng.integers(1, 10_000_000, size=n).astype(str), 7)
        abbreviation = T.PROVINCE_ABBREVIATION.get(self.ctx.province_prefix, "")
        return P.concat(abbreviation, "(", year, ")", self.county.name, "不动产权第", number, "号")

    def _petition_matter(self, column: str) -> np.ndarray:
        rng, n = self.rng, self.n
        place = P.concat(self._address_townships(), P.uniform_pick(rng, T.VILLAGE_STEMS, n), "村")
        place = np.where(rng.random(n) < 0.7, place, "")
        return P.concat(
            "反映",
            place,
            P.uniform_pick(rng, T.PETITION_ISSUES, n),
            "问题，",
            P.uniform_pick(rng, T.PETITION_REQUESTS, n),
            "。",
        )

    def _phone(self, column: str) -> np.ndarray:
        rng, n = self.rng, self.n
        area = T.AREA_CODE_BY_CITY.get(self.ctx.city.city.code, T.DEFAULT_AREA_CODE)
        lead = T.LANDLINE_LEAD_BY_COUNTY.get(self.county.code, "7")
        landline_share = 0.75 if self._is_organisation_register() else 0.2
        fixed = P.landlines(rng, area, lead, n)
        mobile = P.mobiles(rng, T.MOBILE_PREFIXES, n)
        return np.where(rng.random(n) < landline_share, fixed, mobile)

    def _email(self, column: str) -> np.ndarray:
        qq = self.rng.integers(10_000_000, 3_000_000_000, size=self.n).astype(str)
        return P.concat(qq, "@qq.com")

    def _text(self, column: str) -> np.ndarray:
        code = P.small_numbers(self.rng, 1, 999_999, self.n)
        return P.concat(self.entry.item(column).name, np.strings.zfill(code, 6))
