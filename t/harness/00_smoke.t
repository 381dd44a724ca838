# SPDX-License-Identifier: Apache-2.0
# Proves the harness itself: httpd with the freshly built module answers, the
# database is migrated, both stand-ins answer and record, and the helpers work.
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use HTTP::Tiny ();
use MIME::Base64 ();
use SlotRecovery::Test qw(:all);

plan tests => 23;

# --- httpd ----------------------------------------------------------------
{
    my $r = api(GET => '/api/does-not-exist');
    ok $r->status >= 400 && $r->status < 500, 'httpd answers /api/... with a 4xx'
        or diag $r->dump;
    isnt $r->status, 500, '... not a 500';

    my $cfg = Apache::Test::config();
    like $cfg->{vars}{t_conf_file}, qr{/t/conf/httpd\.conf$}, 'running from the generated config';
    is public_base_url(), "http://127.0.0.1:$cfg->{vars}{port}", 'public base URL is the test server';

    open my $fh, '<', "$cfg->{vars}{t_conf}/extra.conf" or die $!;
    my $extra = do { local $/; <$fh> };
    like $extra, qr{^\s*LoadModule slotrecovery_module "\$\{SR_MODULE_SO\}"}m, 'extra.conf loads SR_MODULE_SO';
    like $ENV{SR_MODULE_SO}, qr{/\.libs/mod_slotrecovery\.so$}, 'SR_MODULE_SO is the freshly built .so';
    like $extra, qr{^SlotRecoveryPublicBaseUrl \Q${\ public_base_url()}\E$}m,
        'SlotRecoveryPublicBaseUrl is what the tests use';
}

# --- the internal secret ----------------------------------------------------
{
    my $r = api(GET => '/api/appointments/1', undef, secret => undef);
    is $r->status, 401, 'no secret: 401 (README: "401 when missing or wrong")' or diag $r->dump;
    $r = api(GET => '/api/appointments/1', undef, secret => 'not-the-secret');
    is $r->status, 401, 'wrong secret: 401' or diag $r->dump;
}

# --- the database ---------------------------------------------------------
{
    ok db()->ping, 'DBI connects to the test database';
    is db_row(q{SELECT to_regclass('public.shops') IS NOT NULL AS present})->{present}, 1,
        'migrated: table shops exists';
    ok db_count('schema_migrations') >= 1, 'schema_migrations has rows';
    reset_db();
    is db_count('shops'), 0, 'reset_db empties shops';
    ok db_count('schema_migrations') >= 1, '... and keeps schema_migrations';
    is db_count('installation'), 1, '... and the installation row';
}

# --- the JSON API through the helpers --------------------------------------
{
    my $shop = make_shop(name => 'Smoke Salon');
    like $shop->{id}, qr/^\d+$/, 'make_shop returns an id (a string of digits)';
    is db_row('SELECT name FROM shops WHERE id = ?', $shop->{id})->{name}, 'Smoke Salon', '... stored';
    my $r = api(POST => '/api/shops', { name => 'Mounted', timezone => 'Europe/London',
        smsFrom => '+15005550006', depositAmount => 0, currency => 'usd' }, prefix => '/mounted');
    is $r->status, 201, 'the module answers under /mounted too' or diag $r->dump;
    like iso_in(60), qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'iso_in format';
}

# --- the stand-ins ----------------------------------------------------------
{
    twilio_reset();
    stripe_reset();
    my $ua = HTTP::Tiny->new;
    my $res = $ua->post_form(twilio_url('/2010-04-01/Accounts/' . twilio_account_sid() . '/Messages.json'),
        { To => '+15550001', From => '+15005550006', Body => 'hello' },
        { headers => { Authorization => 'Basic ' . MIME::Base64::encode_base64(
            twilio_account_sid() . ':' . twilio_auth_token(), '') } });
    is $res->{status}, 201, 'fake Twilio answers a send with 201';
    my $msgs = twilio_messages();
    is_deeply [ map { $_->{form}{To} } @$msgs ], ['+15550001'], '... and records it';

    stripe_behave({ decline => json_true() });
    $res = $ua->post_form(stripe_url('/v1/payment_intents'),
        { amount => 2000, currency => 'usd', confirm => 'true', 'metadata[appointment_id]' => 7 },
        { headers => { Authorization => 'Bearer ' . stripe_secret_key(), 'Idempotency-Key' => 'smoke-1' } });
    is $res->{status}, 402, 'fake Stripe declines when told to';
    stripe_behave({});
    my $again = $ua->post_form(stripe_url('/v1/payment_intents'),
        { amount => 2000, currency => 'usd', confirm => 'true', 'metadata[appointment_id]' => 7 },
        { headers => { Authorization => 'Bearer ' . stripe_secret_key(), 'Idempotency-Key' => 'smoke-1' } });
    ok $again->{status} == 402 && $again->{content} eq $res->{content},
        'a repeated Idempotency-Key with the same parameters returns the first response unchanged';
}
