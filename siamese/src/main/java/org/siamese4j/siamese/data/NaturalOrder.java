package org.siamese4j.siamese.data;

import java.util.Comparator;

/**
 * Orders names the way people number files: runs of digits compare as numbers, so {@code s2 < s10} and
 * {@code 9.pgm < 10.pgm}. Text runs compare case-insensitively. Names that are still equal (such as {@code s01}
 * and {@code s1}, or {@code A} and {@code a}) fall back to plain {@link String#compareTo}, so the order is total
 * and the same on every file system.
 */
public final class NaturalOrder implements Comparator<String> {
    public static final NaturalOrder INSTANCE = new NaturalOrder();

    private NaturalOrder() {
    }

    @Override
    public int compare(String a, String b) {
        int i = 0;
        int j = 0;
        while (i < a.length() && j < b.length()) {
            char ca = a.charAt(i);
            char cb = b.charAt(j);
            if (isDigit(ca) && isDigit(cb)) {
                int endA = digitRunEnd(a, i);
                int endB = digitRunEnd(b, j);
                int c = compareNumbers(a, i, endA, b, j, endB);
                if (c != 0) {
                    return c;
                }
                i = endA;
                j = endB;
            } else {
                int c = Character.compare(Character.toLowerCase(ca), Character.toLowerCase(cb));
                if (c != 0) {
                    return c;
                }
                i++;
                j++;
            }
        }
        if (i < a.length() || j < b.length()) {
            return i < a.length() ? 1 : -1;
        }
        return a.compareTo(b);
    }

    /** Compares two digit runs as arbitrarily long unsigned numbers (no overflow for long runs). */
    private static int compareNumbers(String a, int startA, int endA, String b, int startB, int endB) {
        while (startA < endA - 1 && a.charAt(startA) == '0') {
            startA++;
        }
        while (startB < endB - 1 && b.charAt(startB) == '0') {
            startB++;
        }
        int lengthDiff = (endA - startA) - (endB - startB);
        if (lengthDiff != 0) {
            return lengthDiff;
        }
        for (; startA < endA; startA++, startB++) {
            int c = Character.compare(a.charAt(startA), b.charAt(startB));
            if (c != 0) {
                return c;
            }
        }
        return 0;
    }

    private static int digitRunEnd(String s, int start) {
        int end = start;
        while (end < s.length() && isDigit(s.charAt(end))) {
            end++;
        }
        return end;
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }
}
