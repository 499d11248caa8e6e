//! The scheduler's index of one node pool's Ready nodes in one zone: the least-loaded node
//! (lowest (load, node id)) with room for a given pod.
//!
//! kube-scheduler filters the nodes a pod fits, then scores them; `LeastAllocated` prefers the
//! emptiest. Every bind and unbind changes one node's load and room, so this is updated twice per
//! pod and read once per pod. A tournament tree serves both: each leaf holds one node's key and
//! room, each inner entry the smallest key and the largest room of each kind below it. An update
//! rewrites one path of plain integers (no allocation, no rebalancing). A query checks the
//! least-loaded node first (it nearly always fits); otherwise it descends, smaller key first,
//! skipping subtrees where no node has enough CPU, memory, pod slots or member ENIs
//! (`aliyun/member-eni`), or whose smallest key is already beaten. A zone where nothing fits
//! answers at the root, which matters while pods wait for the autoscaler and every scheduler
//! pass asks again.

use super::NodeId;

/// A pod's requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct PodSize {
    pub cpu_millis: u64,
    pub memory_mib: u64,
    /// `aliyun/member-eni`: 1 for a PodNetworking pod under trunking.
    pub member_eni: u32,
}

/// What a node has left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Room {
    pub cpu_millis: u64,
    pub memory_mib: u64,
    pub pods: u32,
    /// Member ENIs left (`u32::MAX` on nodes without the limit).
    pub member_enis: u32,
}

/// A subtree: its smallest key (`u64::MAX` if it has no node) and the most room of each kind
/// any one of its nodes has. For a leaf, the room is the node's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    key: u64,
    cpu_millis: u32,
    memory_mib: u32,
    pods: u32,
    member_enis: u32,
}

const EMPTY: Entry = Entry {
    key: u64::MAX,
    cpu_millis: 0,
    memory_mib: 0,
    pods: 0,
    member_enis: 0,
};

impl Entry {
    fn leaf(key: u64, room: Room) -> Self {
        let narrow = |value: u64| u32::try_from(value).unwrap_or(u32::MAX);
        Entry {
            key,
            cpu_millis: narrow(room.cpu_millis),
            memory_mib: narrow(room.memory_mib),
            pods: room.pods,
            member_enis: room.member_enis,
        }
    }

    fn combine(a: Entry, b: Entry) -> Entry {
        Entry {
            key: a.key.min(b.key),
            cpu_millis: a.cpu_millis.max(b.cpu_millis),
            memory_mib: a.memory_mib.max(b.memory_mib),
            pods: a.pods.max(b.pods),
            member_enis: a.member_enis.max(b.member_enis),
        }
    }

    /// For a leaf: the pod fits. For a subtree: it may fit some node (each kind of room is
    /// there, perhaps on different nodes).
    fn may_fit(self, size: PodSize) -> bool {
        self.pods > 0
            && size.cpu_millis <= u64::from(self.cpu_millis)
            && size.memory_mib <= u64::from(self.memory_mib)
            && size.member_eni <= self.member_enis
    }
}

/// Ready nodes of one pool and zone, by (load, id), with their room.
#[derive(Debug, Clone, Default)]
pub(super) struct LeastLoaded {
    /// `tree[1]` is the root, leaves are `tree[leaves..2 * leaves]`.
    tree: Vec<Entry>,
    leaves: usize,
    /// Leaf of each node, by node id; `u32::MAX` when the node is not here.
    leaf_of: Vec<u32>,
    /// Leaves without a node, reused before the tree grows.
    free_leaves: Vec<u32>,
    len: usize,
}

fn key(load: u32, id: NodeId) -> u64 {
    (u64::from(load) << 32) | u64::from(id.0)
}

fn unkey(key: u64) -> (u32, NodeId) {
    ((key >> 32) as u32, NodeId(key as u32))
}

impl LeastLoaded {
    /// Nodes in the index.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the node is here under this load.
    pub fn contains(&self, load: u32, id: NodeId) -> bool {
        self.leaf(id)
            .is_some_and(|leaf| self.tree[self.leaves + leaf].key == key(load, id))
    }

    fn leaf(&self, id: NodeId) -> Option<usize> {
        match self.leaf_of.get(id.0 as usize) {
            Some(&leaf) if leaf != u32::MAX => Some(leaf as usize),
            _ => None,
        }
    }

    /// Adds a node that is not here yet.
    pub fn insert(&mut self, id: NodeId, load: u32, room: Room) {
        assert!(self.leaf(id).is_none(), "node {} indexed twice", id.0);
        if self.free_leaves.is_empty() {
            self.grow();
        }
        let leaf = self.free_leaves.pop().expect("grown above");
        let index = id.0 as usize;
        if self.leaf_of.len() <= index {
            self.leaf_of.resize(index + 1, u32::MAX);
        }
        self.leaf_of[index] = leaf;
        self.len += 1;
        self.set(leaf as usize, Entry::leaf(key(load, id), room));
    }

    /// Removes a node that is here.
    pub fn remove(&mut self, id: NodeId) {
        let leaf = self.leaf(id).expect("only indexed nodes are removed");
        self.leaf_of[id.0 as usize] = u32::MAX;
        self.free_leaves.push(leaf as u32);
        self.len -= 1;
        self.set(leaf, EMPTY);
    }

    /// Gives a node that is here its new load and room.
    pub fn update(&mut self, id: NodeId, load: u32, room: Room) {
        let leaf = self.leaf(id).expect("only indexed nodes are updated");
        self.set(leaf, Entry::leaf(key(load, id), room));
    }

    fn set(&mut self, leaf: usize, entry: Entry) {
        let tree = &mut self.tree;
        let mut at = self.leaves + leaf;
        tree[at] = entry;
        while at > 1 {
            at /= 2;
            let combined = Entry::combine(tree[2 * at], tree[2 * at + 1]);
            if tree[at] == combined {
                // Everything above already agrees.
                break;
            }
            tree[at] = combined;
        }
    }

    /// Doubles the leaves (at least 8) and rebuilds the inner entries.
    fn grow(&mut self) {
        let old = self.leaves;
        let leaves = (old * 2).max(8);
        let mut tree = vec![EMPTY; 2 * leaves];
        if old > 0 {
            tree[leaves..leaves + old].copy_from_slice(&self.tree[old..2 * old]);
        }
        for at in (1..leaves).rev() {
            tree[at] = Entry::combine(tree[2 * at], tree[2 * at + 1]);
        }
        self.tree = tree;
        self.leaves = leaves;
        // Lower leaves are handed out first: `pop` takes from the end.
        self.free_leaves.extend((old as u32..leaves as u32).rev());
    }

    /// The least-loaded node (then lowest id) with room for a pod of this size.
    pub fn least_loaded(&self, size: PodSize) -> Option<(u32, NodeId)> {
        let root = *self.tree.get(1)?;
        if !root.may_fit(size) {
            return None;
        }
        // The least-loaded node itself, nearly always the answer.
        let (_, first) = unkey(root.key);
        let leaf = self
            .leaf(first)
            .expect("the root's key names an indexed node");
        if self.tree[self.leaves + leaf].may_fit(size) {
            return Some(unkey(root.key));
        }
        let mut best = u64::MAX;
        self.search(1, size, &mut best);
        (best != u64::MAX).then(|| unkey(best))
    }

    fn search(&self, at: usize, size: PodSize, best: &mut u64) {
        let entry = self.tree[at];
        if entry.key >= *best || !entry.may_fit(size) {
            return;
        }
        if at >= self.leaves {
            *best = entry.key;
            return;
        }
        let (left, right) = (2 * at, 2 * at + 1);
        let (first, second) = if self.tree[left].key <= self.tree[right].key {
            (left, right)
        } else {
            (right, left)
        };
        self.search(first, size, best);
        self.search(second, size, best);
    }

    /// What is wrong with the index, if anything: every inner entry must combine its children,
    /// and every indexed node's leaf must hold its key and room (`room` gives each indexed
    /// node's room, `load` its load). For the invariant checker.
    pub fn inconsistency(
        &self,
        load: impl Fn(NodeId) -> u32,
        room: impl Fn(NodeId) -> Room,
    ) -> Option<String> {
        if let Some(at) = (1..self.leaves)
            .find(|&at| self.tree[at] != Entry::combine(self.tree[2 * at], self.tree[2 * at + 1]))
        {
            return Some(format!("inner entry {at} does not combine its children"));
        }
        let filled = (self.leaves..2 * self.leaves)
            .filter(|&at| self.tree[at] != EMPTY)
            .count();
        if filled != self.len {
            return Some(format!("{filled} leaves filled for {} nodes", self.len));
        }
        for (id, &leaf) in self.leaf_of.iter().enumerate() {
            if leaf == u32::MAX {
                continue;
            }
            let id = NodeId(id as u32);
            let expected = Entry::leaf(key(load(id), id), room(id));
            if self.tree[self.leaves + leaf as usize] != expected {
                return Some(format!("node {} has a stale leaf", id.0));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use proptest::test_runner::RngSeed;
    use std::collections::BTreeMap;

    const SMALL: PodSize = PodSize {
        cpu_millis: 250,
        memory_mib: 512,
        member_eni: 0,
    };
    const LARGE: PodSize = PodSize {
        cpu_millis: 4000,
        memory_mib: 1024,
        member_eni: 0,
    };

    fn fits(room: Room, size: PodSize) -> bool {
        room.pods > 0 && size.cpu_millis <= room.cpu_millis && size.memory_mib <= room.memory_mib
    }

    /// One change to a zone's nodes: insert the node if it is absent, else remove it
    /// (`remove`) or update it.
    #[derive(Debug, Clone, Copy)]
    struct Change {
        id: u32,
        load: u32,
        room: Room,
        remove: bool,
    }

    fn change() -> impl Strategy<Value = Change> {
        // Few ids and loads, so that nodes come and go and ties on load are decided by id;
        // rooms such that many nodes have one kind of room but not another, which is what the
        // search must see through.
        (
            0..300u32,
            0..40u32,
            0..6000u64,
            0..2048u64,
            0..3u32,
            prop::bool::weighted(1.0 / 3.0),
        )
            .prop_map(|(id, load, cpu_millis, memory_mib, pods, remove)| Change {
                id,
                load,
                room: Room {
                    cpu_millis,
                    memory_mib,
                    pods,
                    member_enis: u32::MAX,
                },
                remove,
            })
    }

    proptest! {
        // A fixed seed, so every run checks the same cases; a failure shrinks to the shortest
        // list of changes that breaks, saved in proptest-regressions/ for replay.
        #![proptest_config(ProptestConfig {
            cases: 48,
            rng_seed: RngSeed::Fixed(0xDEAD_BEEF_1234_5678),
            ..ProptestConfig::default()
        })]

        // The naive model: a plain map scanned in full; the answer must be the lowest
        // (load, id) among the nodes the pod fits.
        #[test]
        fn answers_the_least_loaded_node_that_fits_as_a_full_scan_does(
            changes in prop::collection::vec(change(), 1..1_500)
        ) {
            let mut index = LeastLoaded::default();
            let mut shadow: BTreeMap<u32, (u32, Room)> = BTreeMap::new();
            for Change { id, load, room, remove } in changes {
                match shadow.get(&id) {
                    None => {
                        index.insert(NodeId(id), load, room);
                        shadow.insert(id, (load, room));
                    }
                    Some(_) if remove => {
                        index.remove(NodeId(id));
                        shadow.remove(&id);
                    }
                    Some(_) => {
                        index.update(NodeId(id), load, room);
                        shadow.insert(id, (load, room));
                    }
                }
                prop_assert_eq!(index.len(), shadow.len());
                for size in [SMALL, LARGE] {
                    let expected = shadow
                        .iter()
                        .filter(|(_, (_, room))| fits(*room, size))
                        .map(|(&id, &(load, _))| (load, NodeId(id)))
                        .min();
                    prop_assert_eq!(index.least_loaded(size), expected);
                }
            }
            let load = |id: NodeId| shadow[&id.0].0;
            let room = |id: NodeId| shadow[&id.0].1;
            prop_assert_eq!(index.inconsistency(load, room), None);
            for (&id, &(load, _)) in &shadow {
                prop_assert!(index.contains(load, NodeId(id)));
                prop_assert!(!index.contains(load + 1, NodeId(id)));
            }
        }
    }

    #[test]
    fn an_empty_or_full_zone_has_no_answer() {
        let mut index = LeastLoaded::default();
        assert_eq!(index.least_loaded(SMALL), None);
        let full = Room {
            cpu_millis: 100,
            memory_mib: 4096,
            pods: 10,
            member_enis: u32::MAX,
        };
        index.insert(NodeId(3), 7, full);
        assert_eq!(index.least_loaded(SMALL), None, "250m does not fit in 100m");
        index.update(
            NodeId(3),
            7,
            Room {
                cpu_millis: 250,
                ..full
            },
        );
        assert_eq!(
            index.least_loaded(SMALL),
            Some((7, NodeId(3))),
            "exactly fits"
        );
        index.remove(NodeId(3));
        assert_eq!(index.least_loaded(SMALL), None);
        assert_eq!(index.len(), 0);
        assert!(!index.contains(7, NodeId(3)));
    }

    // One node has the CPU, another the memory: the root says "maybe", no node fits.
    #[test]
    fn room_split_across_nodes_is_not_a_fit() {
        let mut index = LeastLoaded::default();
        let cpu_only = Room {
            cpu_millis: 8000,
            memory_mib: 100,
            pods: 5,
            member_enis: u32::MAX,
        };
        let memory_only = Room {
            cpu_millis: 100,
            memory_mib: 8000,
            pods: 5,
            member_enis: u32::MAX,
        };
        index.insert(NodeId(0), 1, cpu_only);
        index.insert(NodeId(1), 2, memory_only);
        assert_eq!(index.least_loaded(LARGE), None);
        index.insert(
            NodeId(2),
            9,
            Room {
                pods: 1,
                ..cpu_only
            },
        );
        assert_eq!(index.least_loaded(SMALL), None);
        index.update(
            NodeId(2),
            9,
            Room {
                cpu_millis: 8000,
                memory_mib: 8000,
                pods: 1,
                member_enis: u32::MAX,
            },
        );
        assert_eq!(index.least_loaded(LARGE), Some((9, NodeId(2))));
    }

    // A PodNetworking pod asks for one `aliyun/member-eni`: the least-loaded node has none left,
    // so the pod goes to the next; other pods still take the least-loaded one.
    #[test]
    fn a_member_eni_pod_skips_nodes_without_member_enis() {
        let mut index = LeastLoaded::default();
        let room = Room {
            cpu_millis: 8000,
            memory_mib: 8000,
            pods: 5,
            member_enis: 0,
        };
        index.insert(NodeId(0), 1, room);
        index.insert(
            NodeId(1),
            2,
            Room {
                member_enis: 3,
                ..room
            },
        );
        let member = PodSize {
            member_eni: 1,
            ..SMALL
        };
        assert_eq!(index.least_loaded(SMALL), Some((1, NodeId(0))));
        assert_eq!(index.least_loaded(member), Some((2, NodeId(1))));
        index.remove(NodeId(1));
        assert_eq!(index.least_loaded(member), None);
    }
}
