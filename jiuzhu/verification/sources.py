"""The departmental data sources of the 家庭经济状况核对 (REFERENCE §1.4) and what each tells: one entry per
source with the kinds of record it produces. A record is normalised to (person, kind, amount, quantity,
category, date); the source's own column layout for file drops is in ``feeds/<source>.yaml``.

Kinds and their meaning (amounts in yuan):
  registration  户籍 status (category: normal | cancelled | moved_out)
  death         a death (event_date) — 公安 cancellation or 殡葬 cremation
  wage          monthly gross wage (taxed salary, or the social-insurance or housing-fund contribution base;
                ref: the employer)
  pension       monthly pension or social-insurance benefit (category: basic | employee | other)
  unemployment  monthly unemployment benefit
  house         a dwelling (quantity: floor area m², amount: assessed value; category: ended when deregistered
                or transferred; ref: the unit)
  business      a registered business (category: status active | closed, amount: registered capital; ref: USCC)
  fund_balance  housing-fund balance
  vehicle       a motor vehicle (category: car | truck | motorcycle | tricycle | adapted, or ended when
                deregistered, scrapped or transferred; amount: value; ref: the plate)
  deposit       bank deposits balance (ref: the account; the latest balance of each account counts)
  securities    securities / funds balance
  insurance     cash value of commercial insurance
  marriage      marriage status change (category: married | divorced; event_date)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Source:
    key: str
    label: str  # the department, as the report names it
    kinds: tuple[str, ...]


SOURCES: dict[str, Source] = {s.key: s for s in (
    Source("hukou", "公安户籍", ("registration", "death")),
    Source("hrss", "人力资源和社会保障", ("wage", "pension", "unemployment")),
    Source("tax", "税务", ("wage",)),
    Source("real_estate", "不动产登记", ("house",)),
    Source("market", "市场监督管理", ("business",)),
    Source("housing_fund", "住房公积金", ("wage", "fund_balance")),
    Source("vehicle", "公安交管车辆登记", ("vehicle",)),
    Source("bank", "银行、证券、保险", ("deposit", "securities", "insurance")),
    Source("funeral", "民政殡葬", ("death",)),
    Source("marriage", "民政婚姻登记", ("marriage",)),
)}  # fmt: skip
KINDS = sorted({k for s in SOURCES.values() for k in s.kinds})
INCOME_KINDS = ("wage", "pension", "unemployment")
ASSET_KINDS = ("house", "vehicle", "deposit", "securities", "insurance", "fund_balance", "business")

# A finding's kind (assess.compare) → its label and the record kinds it rests on.
FINDING_KINDS: dict[str, tuple[Any, tuple[str, ...]]] = {  # (label, lazily translated)
    "wage": (_("工资性收入"), ("wage",)),
    "pension": (_("养老金等社会保险待遇"), ("pension", "unemployment")),
    "business": (_("经营情况"), ("business",)),
    "death": (_("家庭成员死亡"), ("death",)),
    "registration": (_("户籍变动"), ("registration",)),
    "vehicle": (_("机动车辆"), ("vehicle",)),
    "house": (_("住房"), ("house",)),
    "financial": (_("金融资产"), ("deposit", "securities", "insurance")),
}
