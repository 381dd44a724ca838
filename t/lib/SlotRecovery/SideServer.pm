# SPDX-License-Identifier: Apache-2.0
package SlotRecovery::SideServer;

# A throwaway httpd (SlotRecovery::Httpd) running the module on the suite's
# database and stand-ins, with directives of the test's own (a small
# SlotRecoveryHttpTimeout, many SlotRecoveryOfferMaxAttempts, ...). Its
# watchdog runs first one SlotRecoverySweepInterval after the start, and that
# is an hour: the test triggers its sweeps with POST /api/jobs/sweep.
#
#   my $side = SlotRecovery::SideServer->start("SlotRecoveryHttpTimeout 2\n");
#   my $r = $side->api(POST => '/api/jobs/sweep');   # { status, json, body, elapsed }

use strict;
use warnings;

use Carp qw(croak);
use HTTP::Tiny ();
use JSON::PP ();
use Time::HiRes ();

use SlotRecovery::Httpd ();
use SlotRecovery::TestEnv ();

sub start {
    my ($class, $directives) = @_;
    my $port = SlotRecovery::Httpd::free_port();
    my %e = map { $_ => SlotRecovery::TestEnv::get($_) }
        qw(SR_PG_HOST SR_PG_PORT SR_PG_DB SR_PG_USER SR_INTERNAL_SECRET SR_TWILIO_ACCOUNT_SID SR_TWILIO_AUTH_TOKEN
           SR_TWILIO_PORT SR_STRIPE_SECRET_KEY SR_STRIPE_WEBHOOK_SECRET SR_STRIPE_PORT);
    my $h = SlotRecovery::Httpd->new(listen => ["127.0.0.1:$port"], body => <<"EOF");
DBDriver pgsql
DBDParams "host=$e{SR_PG_HOST} port=$e{SR_PG_PORT} dbname=$e{SR_PG_DB} user=$e{SR_PG_USER}"
DBDMin 0
DBDKeep 2
DBDMax 8
LogLevel info slotrecovery:debug
SlotRecoveryInternalSecret $e{SR_INTERNAL_SECRET}
SlotRecoveryPublicBaseUrl http://127.0.0.1:$port
SlotRecoveryTwilioAccountSid $e{SR_TWILIO_ACCOUNT_SID}
SlotRecoveryTwilioAuthToken $e{SR_TWILIO_AUTH_TOKEN}
SlotRecoveryTwilioApiBase http://127.0.0.1:$e{SR_TWILIO_PORT}
SlotRecoveryStripeSecretKey $e{SR_STRIPE_SECRET_KEY}
SlotRecoveryStripeWebhookSecret $e{SR_STRIPE_WEBHOOK_SECRET}
SlotRecoveryStripeApiBase http://127.0.0.1:$e{SR_STRIPE_PORT}
SlotRecoverySweepInterval 3600
$directives
<Location /api>
    SetHandler slotrecovery
</Location>
EOF
    $h->start;
    my $self = bless { h => $h, port => $port, ua => HTTP::Tiny->new(timeout => 120, keep_alive => 0) }, $class;
    return $self;
}

sub httpd { $_[0]{h} }
sub base  { "http://127.0.0.1:$_[0]{port}" }

# api(METHOD => $path, $data): { status, json, body, elapsed (seconds, client side) }.
sub api {
    my ($self, $method, $path, $data) = @_;
    my $t0 = Time::HiRes::time();
    my $res = $self->{ua}->request($method, $self->base . $path, {
        headers => { 'X-Internal-Secret' => SlotRecovery::TestEnv::get('SR_INTERNAL_SECRET'),
                     'Content-Type' => 'application/json' },
        (defined $data ? (content => JSON::PP->new->encode($data)) : ()),
    });
    my $t1 = Time::HiRes::time();
    return { status => $res->{status}, body => $res->{content}, start => $t0, end => $t1, elapsed => $t1 - $t0,
             json => eval { JSON::PP->new->utf8->decode($res->{content}) } };
}

sub sweep {
    my ($self) = @_;
    my $r = $self->api(POST => '/api/jobs/sweep');
    croak "side server sweep: $r->{status} $r->{body}" unless $r->{status} == 200;
    return $r;
}

1;
