# SPDX-License-Identifier: Apache-2.0
# Every test file starts from an empty database and stand-ins with no recorded
# request and the normal behaviour, whatever ran before it: loading
# SlotRecovery::Test does that (fresh_start). This checks that it does (state
# left here on purpose is gone once the module is loaded), and that every file
# that reaches the suite's server, database or stand-ins loads the module.
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use File::Basename qw(basename dirname);
use FindBin;
use HTTP::Tiny ();
use JSON::PP ();
use SlotRecovery::TestEnv ();

my $t = dirname($FindBin::Bin);
my @files = sort glob "$t/*/*.t";
# What only a file that talks to the suite's server, database or stand-ins uses.
my $TALKS = qr/Apache::TestRequest|\bGET_(?:BODY|OK|STR)\b|\bSR_PG_|\bSR_(?:TWILIO|STRIPE)_PORT\b|DBI->connect|_control\//;
my $LOADS = qr/^\s*use\s+SlotRecovery::(?:Test|Flows|Scenario|Dashboard)\b/m;
plan tests => 6 + @files;

SlotRecovery::TestEnv::init();
my $http = HTTP::Tiny->new(timeout => 30);
my $json = JSON::PP->new->canonical;
my $vars = Apache::Test::vars();
my $api = "http://$vars->{servername}:$vars->{port}/api";
my %stub = map { $_ => 'http://127.0.0.1:' . SlotRecovery::TestEnv::get('SR_' . uc($_) . '_PORT') } qw(twilio stripe);

# --- what an earlier file could leave behind ----------------------------------
my $r = $http->post("$api/shops", { headers => { 'Content-Type' => 'application/json',
        'X-Internal-Secret' => SlotRecovery::TestEnv::get('SR_INTERNAL_SECRET') },
    content => $json->encode({ name => 'Left Over', timezone => 'UTC', smsFrom => '+15005550006',
        depositAmount => 2000, currency => 'usd' }) });
is $r->{status}, 201, 'setup: a shop left in the database' or diag $r->{content};
for my $s (sort keys %stub) {
    $http->get("$stub{$s}/left-over");    # recorded like any other request
    $http->post("$stub{$s}/_control/behave", { headers => { 'Content-Type' => 'application/json' },
        content => $json->encode({ failAll => JSON::PP::true() }) });
}

# --- loading the module resets it all -----------------------------------------
require SlotRecovery::Test;
is SlotRecovery::Test::db_count('shops'), 0, 'once SlotRecovery::Test is loaded: no shop left';
for my $s (sort keys %stub) {
    no strict 'refs';
    is scalar @{ &{"SlotRecovery::Test::${s}_requests"}() }, 0, "... no request recorded at the $s stand-in";
    my $b = $http->get("$stub{$s}/_control/behave");
    is $b->{content}, '{}', "... the $s stand-in behaves normally ({})";
}

# --- every file that needs it gets it -----------------------------------------
for my $f (@files) {
    my $name = basename(dirname($f)) . '/' . basename($f);
    open my $fh, '<', $f or die "$f: $!";
    my $src = do { local $/; <$fh> };
    close $fh;
    if ($name eq 'harness/47_each_file_resets.t') {
        pass "$name: loads SlotRecovery::Test at run time, after leaving state on purpose";
    }
    elsif ($src =~ $LOADS) {
        pass "$name: loads SlotRecovery::Test (resets at load)";
    }
    else {
        unlike $src, $TALKS, "$name: does not load SlotRecovery::Test, so must not use the suite's server, "
            . 'database or stand-ins';
    }
}
