//! IP prefix mode (`enable_ip_prefix`, Terway v1.17.1+, only under centralized IPAM): a node
//! takes `ipv4_prefix_count` aligned /28 prefixes from its ENIs' vSwitches' reserved CIDR blocks
//! when it joins and holds them until it goes, whatever its pods; the daemon hands out all 16
//! addresses of each prefix with no ECS call and no cooldown.
//!
//! Sources: Terway's `pool.go` (`syncPods`' prefix branch, `assignEniPrefixWithOptions`,
//! `syncPrefixAllocation`) and `pkg/eni/local_delegate.go` at `89aadf8`, and the ECS and VPC
//! pages on IP prefixes and reserved blocks, as written up in the domain note on modes,
//! section 3. Free addresses in a vSwitch's normal range never serve a prefix, and a reserved
//! block's addresses never serve anything else.

use rand::seq::SliceRandom;

use super::{Op, SlotStatus};
use crate::model::metrics::ShortageCause;
use crate::model::workload::PodState;
use crate::model::{NodeId, PodId, World};
use crate::scenario::{PREFIX_ADDRESSES, VSwitchSpec};

/// At most this many prefixes per create or assign (`maxPrefixPerAPICall`).
const PREFIXES_PER_CALL: u32 = 10;
/// A pod's address from one of the node's prefixes is on no slot.
pub(in crate::model) const PREFIX_SLOT: u8 = u8::MAX - 1;

/// One reserved CIDR block of a vSwitch, in /28 units.
#[derive(Debug, Clone)]
pub(in crate::model) struct ReservedBlock {
    /// The block's first address.
    pub first: u32,
    /// Which /28s are taken, lowest first.
    pub taken: Vec<bool>,
}

/// The reserved blocks of a vSwitch.
#[derive(Debug, Clone, Default)]
pub(in crate::model) struct Reservations {
    pub blocks: Vec<ReservedBlock>,
    /// /28s taken across the blocks.
    pub used: u32,
}

impl Reservations {
    pub fn new(spec: &VSwitchSpec) -> Self {
        Reservations {
            blocks: spec
                .cidr_reservations
                .iter()
                .map(|block| ReservedBlock {
                    first: u32::from(block.network()),
                    taken: vec![false; ((1u64 << (32 - block.prefix_len())) / 16) as usize],
                })
                .collect(),
            used: 0,
        }
    }

    pub fn total(&self) -> u32 {
        self.blocks.iter().map(|b| b.taken.len() as u32).sum()
    }

    pub fn free(&self) -> u32 {
        self.total() - self.used
    }

    /// Takes the lowest free aligned /28; returns its first address.
    fn take(&mut self) -> Option<u32> {
        for block in &mut self.blocks {
            if let Some(index) = block.taken.iter().position(|taken| !taken) {
                block.taken[index] = true;
                self.used += 1;
                return Some(block.first + index as u32 * PREFIX_ADDRESSES);
            }
        }
        None
    }

    /// Gives back the /28 starting at `address`.
    fn give_back(&mut self, address: u32) {
        let block = self
            .blocks
            .iter_mut()
            .find(|b| address >= b.first && address < b.first + b.taken.len() as u32 * 16)
            .expect("a prefix inside a reserved block");
        let index = ((address - block.first) / PREFIX_ADDRESSES) as usize;
        assert!(block.taken[index], "prefix given back twice");
        block.taken[index] = false;
        self.used -= 1;
    }
}

/// What a prefix-mode pass did.
pub(in crate::model) enum PrefixPass {
    /// Nothing to do, or prefixes taken, or an ENI attaching.
    Done { changed: bool },
    /// A create is out; the pass continues when it returns.
    Calling,
    /// A call failed (or no vSwitch): the workqueue backs off.
    Failed(ShortageCause),
}

impl World<'_> {
    /// Prefixes the node still wants: its count, less those held and those an attaching ENI
    /// brings.
    fn prefixes_wanted(&self, node: NodeId) -> u32 {
        let n = &self.nodes[node.0 as usize];
        let coming = n.controller.attaching_prefixes.len() as u32;
        n.prefix_count
            .saturating_sub(n.prefixes.len() as u32 + coming)
    }

    /// `syncPods` for a node in prefix mode: `syncPrefixAllocation` tops up the ENIs in use
    /// (several calls in one pass), then `assignEniPrefixWithOptions` opens one new ENI if the
    /// count is still short and no ENI is attaching. A prefix call that fails blocks no
    /// vSwitch (Terway has no error code for a full reserved block).
    pub(in crate::model) fn prefix_pass(&mut self, node: NodeId) -> PrefixPass {
        let mut wanted = self.prefixes_wanted(node);
        if wanted == 0 {
            return PrefixPass::Done { changed: false };
        }
        let cap = self.nodes[node.0 as usize].ipv4_per_eni;
        let mut in_use: Vec<usize> = self.nodes[node.0 as usize]
            .slots
            .iter()
            .enumerate()
            .filter(|(_, slot)| slot.status == SlotStatus::InUse)
            .map(|(index, _)| index)
            .collect();
        // Go map order.
        in_use.shuffle(&mut self.rng_terway);
        let mut changed = false;
        for slot_index in in_use {
            let n = &self.nodes[node.0 as usize];
            let on_slot = n
                .prefixes
                .iter()
                .filter(|&&(slot, _)| slot as usize == slot_index)
                .count() as u32;
            let room = cap.saturating_sub(n.slots[slot_index].ips + on_slot);
            let vswitch = n.slots[slot_index].vswitch;
            let mut batch_left = wanted.min(room);
            while batch_left > 0 {
                let batch = batch_left.min(PREFIXES_PER_CALL);
                if self.vswitches[vswitch].reserved.free() < batch {
                    self.metrics.api_calls.refused_ip_not_enough += 1;
                    return PrefixPass::Failed(ShortageCause::VSwitchExhausted);
                }
                self.metrics.api_calls.assign_ips += 1;
                for _ in 0..batch {
                    let address = self.take_prefix(vswitch);
                    self.nodes[node.0 as usize]
                        .prefixes
                        .push((slot_index as u8, address));
                }
                changed = true;
                batch_left -= batch;
                wanted -= batch;
            }
            if wanted == 0 {
                return PrefixPass::Done { changed };
            }
        }
        let n = &self.nodes[node.0 as usize];
        if n.slots
            .iter()
            .any(|slot| slot.status == SlotStatus::Creating)
        {
            return PrefixPass::Done { changed };
        }
        let Some(slot_index) = n.slots.iter().position(|s| s.status == SlotStatus::Init) else {
            return PrefixPass::Done { changed };
        };
        let count = wanted.min(cap.saturating_sub(1)).min(PREFIXES_PER_CALL);
        let Some(vswitch) = self.controller_pick_vswitch(node) else {
            return PrefixPass::Failed(ShortageCause::NoVSwitch);
        };
        if self.vswitches[vswitch].reserved.free() < count {
            // The create fails whole; the code ECS gives is undocumented and Terway blocks
            // nothing for it.
            self.metrics.api_calls.refused_ip_not_enough += 1;
            return PrefixPass::Failed(ShortageCause::VSwitchExhausted);
        }
        for _ in 0..count {
            let address = self.take_prefix(vswitch);
            self.nodes[node.0 as usize]
                .controller
                .attaching_prefixes
                .push(address);
        }
        // The ENI's primary address comes from the normal range.
        self.start_create(node, slot_index, vswitch, 1);
        if self.nodes[node.0 as usize].slots[slot_index].op
            == Some(Op::Create { vswitch, count: 1 })
        {
            PrefixPass::Calling
        } else {
            // Refused for want of a normal address: the prefixes go back.
            let taken =
                std::mem::take(&mut self.nodes[node.0 as usize].controller.attaching_prefixes);
            for address in taken {
                self.give_back_prefix(vswitch, address);
            }
            PrefixPass::Calling
        }
    }

    fn take_prefix(&mut self, vswitch: usize) -> u32 {
        let address = self.vswitches[vswitch]
            .reserved
            .take()
            .expect("a free prefix was counted");
        let used = self.vswitches[vswitch].reserved.used;
        let peak = &mut self.metrics.vswitch_peak_prefixes[vswitch];
        *peak = (*peak).max(used);
        address
    }

    pub(in crate::model) fn give_back_prefix(&mut self, vswitch: usize, address: u32) {
        self.vswitches[vswitch].reserved.give_back(address);
    }

    /// The attach of a prefix ENI completed: its prefixes are the node's.
    pub(in crate::model) fn prefix_eni_attached(&mut self, node: NodeId, slot_index: usize) {
        let n = &mut self.nodes[node.0 as usize];
        let coming = std::mem::take(&mut n.controller.attaching_prefixes);
        n.prefixes.extend(
            coming
                .into_iter()
                .map(|address| (slot_index as u8, address)),
        );
    }

    /// Addresses the node's prefixes give pods, and those pods hold.
    fn prefix_room(&self, node: NodeId) -> u32 {
        let n = &self.nodes[node.0 as usize];
        (n.prefixes.len() as u32 * PREFIX_ADDRESSES).saturating_sub(n.prefix_pods)
    }

    /// The daemon's CNI ADD in prefix mode: an address from the node's prefixes at once, or a
    /// wait until the Node resource changes (118 s at most).
    pub(in crate::model) fn prefix_cni_add(&mut self, pod: PodId) -> bool {
        let node = self.pods[pod.0 as usize].node;
        if self.prefix_room(node) == 0 {
            return false;
        }
        self.nodes[node.0 as usize].prefix_pods += 1;
        self.pod_got_address(pod, PREFIX_SLOT as usize, false);
        true
    }

    /// New prefixes, or an address given back: waiting pods whose CNI call is out take them.
    pub(in crate::model) fn serve_prefix_waiters(&mut self, node: NodeId) -> bool {
        let mut served = false;
        let waiting: Vec<(u64, PodId)> = self.nodes[node.0 as usize]
            .controller
            .unbound
            .iter()
            .copied()
            .filter(|&(_, pod)| self.pods[pod.0 as usize].state == PodState::Attaching)
            .collect();
        for key in waiting {
            if self.prefix_room(node) == 0 {
                break;
            }
            self.nodes[node.0 as usize].controller.unbound.remove(&key);
            served |= self.prefix_cni_add(key.1);
        }
        served
    }

    /// Free prefixes in the reserved blocks the node could still draw on, in addresses: none
    /// once it holds its count (its pods beyond 16 x the count wait for nothing the zone lacks).
    pub(in crate::model) fn prefix_reachable_free(&self, node: NodeId) -> u32 {
        let n = &self.nodes[node.0 as usize];
        if self.prefixes_wanted(node) == 0 {
            return u32::MAX;
        }
        let mut drawable: Vec<usize> = n
            .slots
            .iter()
            .filter(|slot| slot.status == SlotStatus::InUse)
            .map(|slot| slot.vswitch)
            .collect();
        if n.slots.iter().any(|slot| slot.status == SlotStatus::Init) {
            drawable.extend(super::listed_or_eth0(
                &self.listed_vswitches[n.daemon.config][n.zone],
                &n.primary_vswitch,
            ));
        }
        drawable.sort_unstable();
        drawable.dedup();
        drawable
            .iter()
            .map(|&v| &self.vswitches[v])
            .filter(|v| v.exists && v.zone == n.zone)
            .map(|v| v.reserved.free() * PREFIX_ADDRESSES)
            .sum()
    }
}
