package org.siamese4j.siamese.data;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.siamese4j.tensor.Rng;

/**
 * Batches of P identities x K images each, the input of batch-hard and batch-all triplet mining.
 *
 * <p>An epoch is one pass over the eligible identities in a fresh random order, cut into {@code eligible / P}
 * batches; the last {@code eligible % P} identities of that order sit the epoch out (like {@code drop_last}),
 * and since the order is reshuffled every epoch no identity is left out for long. Within a batch the K images
 * of an identity are distinct random images when it has at least K; what happens to identities with fewer is the
 * {@link Shortfall} policy. The same Rng seed gives the same batches.
 *
 * <p>{@link #exportState()} and {@link #restoreState(String)} save and restore where the sampler is (its Rng, the
 * current identity order and the position in it), so a training run resumed from a checkpoint draws exactly the
 * batches an uninterrupted run draws.
 */
public final class PKSampler {

    /** What to do with identities that have fewer than K images. */
    public enum Shortfall {
        /** Leave them out: every group has K distinct images. */
        SKIP,
        /**
         * Keep every identity with at least min(K, 2) images: a short group takes all of its images once, then
         * fills up with random repeats (sampling with replacement). Repeats are zero-distance positives, harmless
         * for batch-hard mining (it takes the farthest positive) but they dilute batch-all averages. For K &gt;= 2
         * identities with a single image are still left out: they cannot form a positive pair.
         */
        REPEAT
    }

    /** The first word of {@link #exportState()}: names the format and its version. */
    static final String STATE_FORMAT = "PKSampler/1";

    private final IdentityGroups groups;
    private final long labelsHash;
    private final int[] eligible;
    private final int p;
    private final int k;
    private final Rng rng;
    private int[] order;
    private int cursor;

    public PKSampler(ImageDataset dataset, int p, int k, Shortfall shortfall, Rng rng) {
        this(dataset.labels(), p, k, shortfall, rng);
    }

    public PKSampler(int[] labels, int p, int k, Shortfall shortfall, Rng rng) {
        if (p < 1 || k < 1) {
            throw new IllegalArgumentException("PKSampler: P and K must be positive, got P=" + p + " K=" + k);
        }
        this.groups = new IdentityGroups(labels, "PKSampler");
        this.labelsHash = fnv1a(labels);
        this.eligible = groups.withAtLeast(shortfall == Shortfall.SKIP ? k : Math.min(k, 2));
        this.p = p;
        this.k = k;
        this.rng = rng;
        if (eligible.length < p) {
            throw new IllegalArgumentException("PKSampler: P=" + p + " identities per batch but only "
                    + eligible.length + " identities have " + (shortfall == Shortfall.SKIP ? "at least K=" + k
                    : "at least " + Math.min(k, 2)) + " images (shortfall policy " + shortfall + ")");
        }
        this.order = new int[0];
    }

    /** How many batches one pass over the eligible identities gives. */
    public int batchesPerEpoch() {
        return eligible.length / p;
    }

    /** The identities that can appear in a batch, ascending. */
    public int[] eligibleIdentities() {
        return eligible.clone();
    }

    /** The next batch, starting a new epoch (a fresh identity order) when the current one is used up. */
    public IdentityBatch nextBatch() {
        if (cursor + p > order.length) {
            order = eligible.clone();
            rng.shuffle(order);
            cursor = 0;
        }
        int[] indices = new int[p * k];
        int[] labels = new int[p * k];
        for (int g = 0; g < p; g++) {
            int id = order[cursor++];
            fillGroup(groups.byIdentity[id], indices, g * k);
            Arrays.fill(labels, g * k, (g + 1) * k, id);
        }
        return new IdentityBatch(indices, labels, p, k);
    }

    /** All batches of a fresh epoch (abandoning what is left of the current one). */
    public List<IdentityBatch> nextEpoch() {
        cursor = order.length;
        List<IdentityBatch> batches = new ArrayList<>();
        for (int b = 0; b < batchesPerEpoch(); b++) {
            batches.add(nextBatch());
        }
        return batches;
    }

    // =====================================================================================================
    // State for checkpoints
    // =====================================================================================================

    /**
     * Where the sampler is, as one line of text: {@code PKSampler/1 p=.. k=.. labels=<hash> eligible=<count>
     * rng=<state> cursor=<i> order=<id,id,...>}. The labels hash and the counts let {@link #restoreState} refuse a
     * state taken from a sampler over other data or with other P and K. The Rng given to the constructor is
     * part of the state, so it should not be drawn from by anything else between export and restore.
     */
    public String exportState() {
        StringBuilder sb = new StringBuilder(STATE_FORMAT)
                .append(" p=").append(p)
                .append(" k=").append(k)
                .append(" labels=").append(Long.toHexString(labelsHash))
                .append(" eligible=").append(eligible.length)
                .append(" rng=").append(rng.state())
                .append(" cursor=").append(cursor)
                .append(" order=");
        for (int i = 0; i < order.length; i++) {
            sb.append(i == 0 ? "" : ",").append(order[i]);
        }
        return sb.toString();
    }

    /**
     * Puts the sampler (and its Rng) back where {@link #exportState()} found it. The state is checked completely
     * before anything changes: a wrong format, other P or K, other labels, an order that is not a permutation
     * of the eligible identities, or a cursor outside it throws {@link IllegalArgumentException} naming the field,
     * and leaves the sampler as it was.
     */
    public void restoreState(String state) {
        if (state == null) {
            throw new IllegalArgumentException("PKSampler.restoreState: state is null");
        }
        String[] fields = state.trim().split(" ", -1);
        String[] names = {"p", "k", "labels", "eligible", "rng", "cursor", "order"};
        if (fields.length != names.length + 1 || !fields[0].equals(STATE_FORMAT)) {
            throw new IllegalArgumentException("PKSampler.restoreState: expected '" + STATE_FORMAT + " p=.. k=.. "
                    + "labels=.. eligible=.. rng=.. cursor=.. order=..', got '" + abbreviate(state) + "'");
        }
        String[] values = new String[names.length];
        for (int i = 0; i < names.length; i++) {
            String f = fields[i + 1];
            if (!f.startsWith(names[i] + "=")) {
                throw new IllegalArgumentException("PKSampler.restoreState: field " + (i + 1) + " should be '"
                        + names[i] + "=..', got '" + abbreviate(f) + "'");
            }
            values[i] = f.substring(names[i].length() + 1);
        }
        expect("p", parseLong("p", values[0]), p);
        expect("k", parseLong("k", values[1]), k);
        if (!values[2].equals(Long.toHexString(labelsHash))) {
            throw new IllegalArgumentException("PKSampler.restoreState: the state was taken over other labels "
                    + "(labels hash " + abbreviate(values[2]) + ", this sampler's is " + Long.toHexString(labelsHash)
                    + ")");
        }
        expect("eligible", parseLong("eligible", values[3]), eligible.length);
        long rngState = parseLong("rng", values[4]);
        int[] newOrder = parseOrder(values[6]);
        long newCursor = parseLong("cursor", values[5]);
        if (newCursor < 0 || newCursor > newOrder.length) {
            throw new IllegalArgumentException("PKSampler.restoreState: cursor=" + newCursor + " is outside 0.."
                    + newOrder.length);
        }
        order = newOrder;
        cursor = (int) newCursor;
        rng.restore(rngState);
    }

    /** An empty order (nothing drawn yet) or a permutation of the eligible identities. */
    private int[] parseOrder(String text) {
        if (text.isEmpty()) {
            return new int[0];
        }
        String[] parts = text.split(",", -1);
        if (parts.length != eligible.length) {
            throw new IllegalArgumentException("PKSampler.restoreState: order holds " + parts.length
                    + " identities, expected the " + eligible.length + " eligible ones");
        }
        int[] out = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            out[i] = (int) parseLong("order[" + i + "]", parts[i]);
        }
        int[] sorted = out.clone();
        Arrays.sort(sorted);
        if (!Arrays.equals(sorted, eligible)) {
            throw new IllegalArgumentException("PKSampler.restoreState: order is not a permutation of the eligible "
                    + "identities");
        }
        return out;
    }

    private static long parseLong(String field, String text) {
        try {
            return Long.parseLong(text);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("PKSampler.restoreState: " + field + "=" + abbreviate(text)
                    + " is not an integer");
        }
    }

    private static void expect(String field, long got, long own) {
        if (got != own) {
            throw new IllegalArgumentException("PKSampler.restoreState: the state has " + field + "=" + got
                    + ", this sampler has " + field + "=" + own);
        }
    }

    private static String abbreviate(String s) {
        return s.length() <= 80 ? s : s.substring(0, 77) + "...";
    }

    /** 64-bit FNV-1a over the labels: a cheap fingerprint of the data the sampler draws from. */
    private static long fnv1a(int[] labels) {
        long h = 0xcbf29ce484222325L;
        for (int label : labels) {
            for (int shift = 0; shift < 32; shift += 8) {
                h ^= (label >>> shift) & 0xff;
                h *= 0x100000001b3L;
            }
        }
        return h;
    }

    private void fillGroup(int[] images, int[] out, int offset) {
        if (images.length >= k) {
            // Partial Fisher-Yates: the first k slots of a shuffled copy.
            int[] pool = images.clone();
            for (int i = 0; i < k; i++) {
                int j = i + rng.nextInt(pool.length - i);
                int t = pool[i];
                pool[i] = pool[j];
                pool[j] = t;
                out[offset + i] = pool[i];
            }
        } else {
            int[] pool = images.clone();
            rng.shuffle(pool);
            System.arraycopy(pool, 0, out, offset, pool.length);
            for (int i = pool.length; i < k; i++) {
                out[offset + i] = images[rng.nextInt(images.length)];
            }
        }
    }
}
