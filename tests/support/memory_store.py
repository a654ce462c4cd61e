"""An in-memory ``Database`` for service unit tests: the same repositories, methods and
signatures as engine/store/uow.py, over dicts, with the guarantees services rely on.

Implemented (the semantics of sql/queries/*.sql and the schema's rules):

* one statement per repository call, atomic (a raise writes nothing); ``transaction()`` all or
  nothing (copy-on-write forks merged on a clean exit, discarded on an exception);
* the version guards of ``Phases.start_attempt`` (False, nothing written) and
  ``Phases.write_settlement`` (``StaleWrite`` = ``asyncpg.SerializationError``, nothing
  written), ``Payments.update``'s version guard;
* the status-transition triggers (engine/states.py tables; ``asyncpg.CheckViolationError``),
  immutable amounts, ``amount_received`` never decreasing, the money CHECKs, one
  authorized/captured attempt per payment;
* a merchant's ``merchant_order_id`` unique (``Conflict``), a payment's customer of the same
  merchant (``NotFound``), one gateway account per (merchant, gateway);
* idempotency keys: claim, get (``held_for_s``/``expired`` from the store's clock), take_over
  (only past the timeout, only at the lock time read), reclaim_expired, checkpoint, complete,
  release (only at ``started``), unlock, purge_expired;
* work rows: one open capture per attempt and registration per (customer, account), leases
  (``held_until``), ``claim_due`` (due and unleased), finish, retry_later on the ladder;
* refunds: reserve never beyond captured (only succeeded payments), release, claim_due;
* attempts' and refunds' ``claim_due`` on their backoff ladders.

Not modelled: row locks and blocking (``lock`` is a read; a transaction whose rows another
writer changed meanwhile raises ``ConcurrentWrite`` instead of waiting), foreign keys to
merchants, and SQL ``now()`` being the wall clock -- here it is ``db.clock`` (wall clock plus an
offset tests move with ``db.clock.advance``), while services keep using the wall clock.
"""

from tests.support.memory.database import MemoryDatabase, MemoryUnitOfWork
from tests.support.memory.tables import Clock, ConcurrentWrite, Tables

__all__ = ["Clock", "ConcurrentWrite", "MemoryDatabase", "MemoryUnitOfWork", "Tables"]
