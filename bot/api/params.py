"""Integer path and query parameters bounded to what the database columns can hold.

Without a bound, `?after=99999999999999999999999` or a huge id in a path would reach PostgreSQL, which
refuses to compare it (a DataError, so a 500). Every integer path/query parameter that is compared with
a column uses one of these types: such input is a 422 with the usual Indonesian error before any query.
"""

from __future__ import annotations

from typing import Annotated

from annotated_types import Ge, Le

from bot.ids import INT32_MAX, INT64_MAX

# An id of an INTEGER primary key (tickets, staff users, models, handoffs, training runs, ...).
DbId = Annotated[int, Ge(0), Le(INT32_MAX)]
# An id of a BIGINT primary key (conversations, messages).
DbBigId = Annotated[int, Ge(0), Le(INT64_MAX)]
