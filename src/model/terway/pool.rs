//! The daemon's pool loop (`Manager.syncPool`): trimming idle addresses above `max_pool_size`,
//! idle reclaim, topping up to `min_pool_size`, and giving addresses back with unassign calls.

use rand::RngExt;

use super::{BATCH_MAX, Op, Placement, Request, SlotStatus, TOP_UP_TIMEOUT_MS, Worker};
use crate::model::{Event, NodeId, NodeRef, World};
use crate::scenario::Millis;

impl World<'_> {
    /// `Manager.syncPool`: trim idle addresses above `max_pool_size` (plus idle reclaim), then
    /// top up to `min_pool_size`. The next run comes U[T, 2T) after this one finishes.
    pub(in crate::model) fn pool_sync(&mut self, node: NodeRef, token: u32) {
        let Some(id) = self.live_node(node) else {
            return;
        };
        let now = self.now();
        let n = &self.nodes[id.0 as usize];
        if n.daemon.sync_token != token {
            return;
        }
        let (idle, in_use, capacity) = (n.usage.idle, n.usage.in_use(), n.daemon.capacity);
        let (max_pool, min_pool) = (n.daemon.max_pool, n.daemon.min_pool);
        let mut to_delete = idle.saturating_sub(max_pool) + self.idle_reclaim(id, idle);
        if to_delete > 0 {
            let order = self.slot_order(id, true);
            for &slot_index in &order.slots[..order.len] {
                if to_delete == 0 {
                    break;
                }
                to_delete -= self.dispose(id, slot_index as usize, to_delete);
            }
        }
        if idle + in_use < capacity && idle < min_pool {
            let mut queued = 0;
            for _ in idle..min_pool {
                let request = Request {
                    pod: None,
                    deadline_ms: now + TOP_UP_TIMEOUT_MS,
                    counted_pending: false,
                };
                if let Placement::Queued { .. } = self.allocate(id, request) {
                    queued += 1;
                }
            }
            if queued > 0 {
                let daemon = &mut self.nodes[id.0 as usize].daemon;
                daemon.top_up_outstanding = queued;
                daemon.top_up_token += 1;
                let token = daemon.top_up_token;
                self.queue
                    .schedule(now + TOP_UP_TIMEOUT_MS, Event::TopUpTimeout(node, token));
                return;
            }
        }
        self.schedule_pool_sync(id);
    }

    fn schedule_pool_sync(&mut self, node: NodeId) {
        let config = &self.configs[self.nodes[node.0 as usize].daemon.config];
        let period = config.ip_pool_sync_period_ms;
        let delay = period + self.rng_timers.random_range(0..period.max(1));
        let node_ref = self.node_ref(node);
        let daemon = &mut self.nodes[node.0 as usize].daemon;
        daemon.sync_token += 1;
        let token = daemon.sync_token;
        self.queue
            .schedule_in(delay, Event::PoolSync(node_ref, token));
    }

    pub(super) fn top_up_done(&mut self, node: NodeId) {
        let daemon = &mut self.nodes[node.0 as usize].daemon;
        if daemon.top_up_outstanding == 0 {
            return;
        }
        daemon.top_up_outstanding -= 1;
        if daemon.top_up_outstanding == 0 {
            daemon.top_up_token += 1;
            self.schedule_pool_sync(node);
        }
    }

    pub(in crate::model) fn top_up_timeout(&mut self, node: NodeRef, token: u32) {
        let Some(id) = self.live_node(node) else {
            return;
        };
        let n = &mut self.nodes[id.0 as usize];
        if n.daemon.top_up_token != token {
            return;
        }
        for slot in &mut n.slots {
            slot.queue.retain(|request| request.pod.is_some());
        }
        n.daemon.top_up_outstanding = 0;
        n.daemon.top_up_token += 1;
        self.schedule_pool_sync(id);
    }

    /// `calculateToDel`'s idle reclaim: once the pool has been untouched for `after`, take up to
    /// `batch` more of the idle addresses down to `min_pool_size`, once per jittered interval.
    pub(super) fn idle_reclaim(&mut self, node: NodeId, idle: u32) -> u32 {
        let now = self.now();
        let n = &self.nodes[node.0 as usize];
        let config = &self.configs[n.daemon.config];
        let Some(reclaim) = config.idle_ip_reclaim else {
            return 0;
        };
        let (max_pool, min_pool) = (n.daemon.max_pool, n.daemon.min_pool);
        let untouched_ms = now.saturating_sub(n.daemon.last_modified_ms);
        let jittered = |world: &mut Self| {
            let factor = 1.0 + world.rng_timers.random::<f64>() * reclaim.jitter_factor;
            now + (reclaim.interval_ms as f64 * factor) as Millis
        };
        if untouched_ms < reclaim.after_ms {
            self.nodes[node.0 as usize].daemon.next_reclaim_ms = None;
            return 0;
        }
        match n.daemon.next_reclaim_ms {
            None => {
                let next = jittered(self);
                self.nodes[node.0 as usize].daemon.next_reclaim_ms = Some(next);
                0
            }
            Some(next) if now >= next => {
                let next = jittered(self);
                self.nodes[node.0 as usize].daemon.next_reclaim_ms = Some(next);
                let above_max = idle.saturating_sub(max_pool);
                reclaim
                    .batch_size
                    .min((idle - above_max).saturating_sub(min_pool))
            }
            Some(_) => 0,
        }
    }

    /// `Local.Dispose(n)`: delete the whole ENI if `n` covers all its addresses and nothing uses
    /// or waits on it; otherwise mark idle addresses for unassign. Terway walks "idle" addresses
    /// in map order, counting the primary (which it skips) and addresses already being deleted,
    /// so fewer may be marked than the count returned.
    fn dispose(&mut self, node: NodeId, slot_index: usize, wanted: u32) -> u32 {
        let now = self.now();
        let delete_eni_ms = self.scenario.cloud.delete_eni_ms;
        let node_ref = self.node_ref(node);
        let slot = &mut self.nodes[node.0 as usize].slots[slot_index];
        if slot.status != SlotStatus::InUse {
            return 0;
        }
        let whole = wanted >= slot.ips
            && slot.in_use() == 0
            && slot.queue.is_empty()
            && slot.op.is_none()
            && slot.unassigning == 0
            && slot.deleting == 0;
        if whole {
            self.metrics.api_calls.delete_eni += 1;
            let n = &mut self.nodes[node.0 as usize];
            n.change_slot(slot_index, |slot| slot.status = SlotStatus::Deleting);
            let slot = &mut n.slots[slot_index];
            slot.worker = Worker::Calling;
            slot.op = Some(Op::DeleteEni);
            let start = slot.eni_bucket.ready_at().max(now);
            slot.eni_bucket.take(start);
            let ips = slot.ips;
            self.queue.schedule(
                start + delete_eni_ms,
                Event::SlotOpDone(node_ref, slot_index as u8),
            );
            return ips;
        }
        let mut plain = slot.idle - u32::from(slot.primary_idle);
        let mut primary = u32::from(slot.primary_idle);
        let mut already = slot.deleting + slot.unassigning;
        let visited = wanted.min(plain + primary + already);
        let mut marked = 0;
        for _ in 0..visited {
            let pick = self.rng_terway.random_range(0..plain + primary + already);
            if pick < plain {
                plain -= 1;
                marked += 1;
            } else if pick < plain + primary {
                primary -= 1;
            } else {
                already -= 1;
            }
        }
        let slot = &mut self.nodes[node.0 as usize].slots[slot_index];
        slot.idle -= marked;
        slot.deleting += marked;
        let vswitch = slot.vswitch;
        self.change_idle(vswitch, -i64::from(marked));
        self.kick_unassign(node, slot_index);
        visited
    }

    /// The dispose worker: `UnassignPrivateIpAddresses` in batches of at most 10 (no per-slot
    /// rate limit on this path).
    pub(super) fn kick_unassign(&mut self, node: NodeId, slot_index: usize) {
        let node_ref = self.node_ref(node);
        let unassign_ms = self.scenario.cloud.unassign_ips_ms;
        let slot = &mut self.nodes[node.0 as usize].slots[slot_index];
        if slot.unassigning > 0 || slot.deleting == 0 {
            return;
        }
        let batch = slot.deleting.min(BATCH_MAX);
        slot.deleting -= batch;
        slot.unassigning = batch;
        self.metrics.api_calls.unassign_ips += 1;
        self.queue.schedule_in(
            unassign_ms,
            Event::SlotUnassignDone(node_ref, slot_index as u8),
        );
    }

    pub(in crate::model) fn slot_unassign_done(&mut self, node: NodeRef, slot_index: usize) {
        let Some(id) = self.live_node(node) else {
            return;
        };
        let (batch, vswitch) = self.nodes[id.0 as usize].change_slot(slot_index, |slot| {
            let batch = std::mem::take(&mut slot.unassigning);
            slot.ips -= batch;
            (batch, slot.vswitch)
        });
        self.return_addresses(vswitch, batch);
        self.kick_unassign(id, slot_index);
    }
}
