//! The scheduler's index of one node pool's Ready nodes in one zone: for each pod size that may
//! run there, the least-loaded node (lowest (load, node id)) with room for a pod of that size.
//!
//! kube-scheduler filters the nodes a pod fits, then scores them; `LeastAllocated` prefers the
//! emptiest. Every bind and unbind changes one node's load and room, so this is updated twice per
//! pod, and read once per pod. One tournament tree per pod size serves both: a leaf holds the
//! node's key if a pod of that size fits it and nothing otherwise, and each inner entry holds the
//! smallest key below it. An update rewrites one path of plain integers per size (no allocation,
//! no rebalancing), and the answer is the root. A zone where nothing fits answers at once too,
//! which matters while pods wait for the autoscaler and every scheduler pass asks again.

use super::NodeId;

/// A leaf with no node, or with a node that has no room for the size.
const EMPTY: u64 = u64::MAX;

/// A pod's requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct PodSize {
    pub cpu_millis: u64,
    pub memory_mib: u64,
}

/// What a node has left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Room {
    pub cpu_millis: u64,
    pub memory_mib: u64,
    pub pods: u32,
}

impl Room {
    fn fits(self, size: PodSize) -> bool {
        self.pods > 0 && size.cpu_millis <= self.cpu_millis && size.memory_mib <= self.memory_mib
    }
}

/// Ready nodes of one pool and zone, by (load, id), per pod size.
#[derive(Debug, Clone)]
pub(super) struct LeastLoaded {
    sizes: Vec<PodSize>,
    /// Per size: `tree[1]` is the root, leaves are `tree[leaves..2 * leaves]`; each entry is
    /// the smallest key of its subtree, `EMPTY` if none. Keys are `load << 32 | id`. All trees
    /// put a node at the same leaf.
    trees: Vec<Vec<u64>>,
    leaves: usize,
    /// Per node id: its leaf and key (`u32::MAX` and `EMPTY` when the node is not here).
    leaf_of: Vec<u32>,
    key_of: Vec<u64>,
    /// Leaves without a node, reused before the trees grow.
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
    /// An empty index answering for these pod sizes (by their position).
    pub fn new(sizes: Vec<PodSize>) -> Self {
        LeastLoaded {
            trees: vec![Vec::new(); sizes.len()],
            sizes,
            leaves: 0,
            leaf_of: Vec::new(),
            key_of: Vec::new(),
            free_leaves: Vec::new(),
            len: 0,
        }
    }

    /// Nodes in the index.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the node is here under this load.
    pub fn contains(&self, load: u32, id: NodeId) -> bool {
        self.key_of.get(id.0 as usize) == Some(&key(load, id))
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
            self.key_of.resize(index + 1, EMPTY);
        }
        self.leaf_of[index] = leaf;
        self.len += 1;
        self.update(id, load, room);
    }

    /// Removes a node that is here.
    pub fn remove(&mut self, id: NodeId) {
        let leaf = self.leaf(id).expect("only indexed nodes are removed");
        self.leaf_of[id.0 as usize] = u32::MAX;
        self.key_of[id.0 as usize] = EMPTY;
        self.free_leaves.push(leaf as u32);
        self.len -= 1;
        for size in 0..self.sizes.len() {
            self.set(size, leaf, EMPTY);
        }
    }

    /// Gives a node that is here its new load and room.
    pub fn update(&mut self, id: NodeId, load: u32, room: Room) {
        let leaf = self.leaf(id).expect("only indexed nodes are updated");
        let key = key(load, id);
        self.key_of[id.0 as usize] = key;
        for size in 0..self.sizes.len() {
            let value = if room.fits(self.sizes[size]) {
                key
            } else {
                EMPTY
            };
            self.set(size, leaf, value);
        }
    }

    fn set(&mut self, size: usize, leaf: usize, value: u64) {
        let tree = &mut self.trees[size];
        let mut at = self.leaves + leaf;
        if tree[at] == value {
            return;
        }
        tree[at] = value;
        while at > 1 {
            at /= 2;
            let smallest = tree[2 * at].min(tree[2 * at + 1]);
            if tree[at] == smallest {
                // Everything above already agrees.
                break;
            }
            tree[at] = smallest;
        }
    }

    /// Doubles the leaves (at least 8) and rebuilds the inner entries.
    fn grow(&mut self) {
        let old = self.leaves;
        let leaves = (old * 2).max(8);
        for tree in &mut self.trees {
            let mut grown = vec![EMPTY; 2 * leaves];
            if old > 0 {
                grown[leaves..leaves + old].copy_from_slice(&tree[old..2 * old]);
            }
            for at in (1..leaves).rev() {
                grown[at] = grown[2 * at].min(grown[2 * at + 1]);
            }
            *tree = grown;
        }
        self.leaves = leaves;
        // Lower leaves are handed out first: `pop` takes from the end.
        self.free_leaves.extend((old as u32..leaves as u32).rev());
    }

    /// The least-loaded node (then lowest id) with room for a pod of size number `size`.
    pub fn least_loaded(&self, size: usize) -> Option<(u32, NodeId)> {
        let root = *self.trees[size].get(1)?;
        (root != EMPTY).then(|| unkey(root))
    }

    /// What is wrong with the index, if anything: every inner entry must be the smallest key
    /// below it, and every node's leaf must hold its key exactly for the sizes it has room for
    /// (`room` gives each indexed node's room). For the invariant checker.
    pub fn inconsistency(&self, room: impl Fn(NodeId) -> Room) -> Option<String> {
        for (size, tree) in self.trees.iter().enumerate() {
            if let Some(at) =
                (1..self.leaves).find(|&at| tree[at] != tree[2 * at].min(tree[2 * at + 1]))
            {
                return Some(format!(
                    "size {size}: inner entry {at} is not the smallest below it"
                ));
            }
            let filled = (self.leaves..2 * self.leaves)
                .filter(|&at| tree[at] != EMPTY)
                .count();
            let fitting = (0..self.leaf_of.len())
                .filter(|&id| self.leaf_of[id] != u32::MAX)
                .filter(|&id| room(NodeId(id as u32)).fits(self.sizes[size]))
                .count();
            if filled != fitting {
                return Some(format!(
                    "size {size}: {filled} leaves filled, {fitting} nodes fit"
                ));
            }
        }
        for (id, &leaf) in self.leaf_of.iter().enumerate() {
            if leaf == u32::MAX {
                continue;
            }
            let id = NodeId(id as u32);
            for (size, tree) in self.trees.iter().enumerate() {
                let expected = if room(id).fits(self.sizes[size]) {
                    self.key_of[id.0 as usize]
                } else {
                    EMPTY
                };
                if tree[self.leaves + leaf as usize] != expected {
                    return Some(format!("size {size}: node {} has a stale leaf", id.0));
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    const SMALL: PodSize = PodSize {
        cpu_millis: 250,
        memory_mib: 512,
    };
    const LARGE: PodSize = PodSize {
        cpu_millis: 4000,
        memory_mib: 1024,
    };

    // Seeded random inserts, removes and updates against a plain list scanned in full: the
    // answer must be the lowest (load, id) among the nodes the size fits.
    #[test]
    fn answers_the_least_loaded_node_that_fits_as_a_full_scan_does() {
        let mut state: u64 = 0xDEAD_BEEF_1234_5678;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut index = LeastLoaded::new(vec![SMALL, LARGE]);
        let mut shadow: BTreeMap<u32, (u32, Room)> = BTreeMap::new();
        for step in 0..20_000 {
            let id = (next() % 300) as u32;
            // Few distinct loads, so that ties on load are decided by id.
            let load = (next() % 40) as u32;
            let room = Room {
                cpu_millis: next() % 6000,
                memory_mib: next() % 2048,
                pods: (next() % 3) as u32,
            };
            match shadow.get(&id) {
                None => {
                    index.insert(NodeId(id), load, room);
                    shadow.insert(id, (load, room));
                }
                Some(_) if next() % 3 == 0 => {
                    index.remove(NodeId(id));
                    shadow.remove(&id);
                }
                Some(_) => {
                    index.update(NodeId(id), load, room);
                    shadow.insert(id, (load, room));
                }
            }
            assert_eq!(index.len(), shadow.len());
            for (number, size) in [SMALL, LARGE].into_iter().enumerate() {
                let expected = shadow
                    .iter()
                    .filter(|(_, (_, room))| room.fits(size))
                    .map(|(&id, &(load, _))| (load, NodeId(id)))
                    .min();
                assert_eq!(index.least_loaded(number), expected, "step {step}");
            }
        }
        let room = |id: NodeId| shadow[&id.0].1;
        assert_eq!(index.inconsistency(room), None);
        for (&id, &(load, _)) in &shadow {
            assert!(index.contains(load, NodeId(id)));
            assert!(!index.contains(load + 1, NodeId(id)));
        }
    }

    #[test]
    fn an_empty_or_full_zone_has_no_answer() {
        let mut index = LeastLoaded::new(vec![SMALL]);
        assert_eq!(index.least_loaded(0), None);
        let full = Room {
            cpu_millis: 100,
            memory_mib: 4096,
            pods: 10,
        };
        index.insert(NodeId(3), 7, full);
        assert_eq!(index.least_loaded(0), None, "250m does not fit in 100m");
        index.update(
            NodeId(3),
            7,
            Room {
                cpu_millis: 250,
                ..full
            },
        );
        assert_eq!(index.least_loaded(0), Some((7, NodeId(3))), "exactly fits");
        index.remove(NodeId(3));
        assert_eq!(index.least_loaded(0), None);
        assert_eq!(index.len(), 0);
        assert!(!index.contains(7, NodeId(3)));
    }
}
