package io.fleetpulse.connect.dynamodb;

/** The connector version, taken from the jar manifest written by the build. */
final class Version {

    private static final String VERSION = load();

    private Version() {
    }

    static String get() {
        return VERSION;
    }

    private static String load() {
        String v = Version.class.getPackage().getImplementationVersion();
        return v == null || v.isBlank() ? "unknown" : v;
    }
}
