# SPDX-License-Identifier: Apache-2.0
# Cancelling from the dashboard: POST /app/appointments/{id}/cancel with the
# form's csrf token cancels the appointment and opens its slot exactly as the
# API cancel does (the first offer goes out at once), then 303s back; without
# the token, with a wrong one, another user's, or one in the query string it
# is 403 and nothing changes; another shop's appointment is 404; GET is 405;
# mounted, it redirects under the mount and offers carry the mount's URLs.
use strict;
use warnings;
use utf8;

use Apache::Test qw(-withtestmore);
use POSIX qw(floor);
use SlotRecovery::Test qw(:all);
use SlotRecovery::Dashboard qw(auth page tree badge links iso_at grant post_form);

plan tests => 68;
# (after plan: Apache::Test's plan sets up Test::More's handles anew)
binmode $_, ':encoding(UTF-8)' for Test::More->builder->output, Test::More->builder->failure_output,
    Test::More->builder->todo_output;

reset_all();

my $shop = make_shop(name => 'Cancel Parlour', smsFrom => '+15005550501');
my $theirs = make_shop(name => 'Other Parlour', smsFrom => '+15005550502');
grant($shop->{id}, 'owner1');
grant($theirs->{id}, 'owner2');

my $day = floor(time / 86400) * 86400;
my @T = map { $day + ($_ + 2) * 86400 + 16 * 3600 } 0 .. 4;
my $canc = make_customer($shop->{id}, name => 'Connie Cancel', smsOptIn => json_false());
my $wait = make_customer($shop->{id}, name => 'Walt Wait', phone => '+15557775001');
my $o_canc = make_customer($theirs->{id}, name => 'Otto Other', smsOptIn => json_false());
my @appt = map { make_appointment($shop->{id}, $canc->{id}, startsAt => iso_at($_), endsAt => iso_at($_ + 1800)) } @T;
my $o_appt = make_appointment($theirs->{id}, $o_canc->{id}, startsAt => iso_at($T[0]), endsAt => iso_at($T[0] + 1800));
my $ap = $appt[0];

# The tokens of the forms.
my $list = tree(page(owner1 => '/app/appointments'));
my %token = map { ($_->attr('action') =~ m{/appointments/(\d+)/cancel$})[0] => $_->look_down(name => 'csrf')->attr('value') }
    $list->look_down(_tag => 'form', method => 'post');
$list->delete;
is_deeply [ sort { $a <=> $b } keys %token ], [ sort { $a <=> $b } map { $_->{id} } @appt ],
    'the list has a cancel form for each upcoming appointment';
my $csrf = $token{ $ap->{id} };
like $csrf, qr/^\d+\.[0-9a-f]{64}$/, '... with a csrf token (issued time and MAC)';
my $t = tree(page(owner1 => "/app/appointments/$ap->{id}"));
# (The time in it is the page's: two pages in the same second carry the same token.)
like $t->look_down(_tag => 'input', name => 'csrf')->attr('value'), qr/^\d+\.[0-9a-f]{64}$/,
    'the appointment page\'s form has a token too';
$t->delete;
$t = tree(page(owner2 => '/app/appointments'));
my $csrf2 = $t->look_down(_tag => 'input', name => 'csrf')->attr('value');
$t->delete;
isnt $csrf2, $csrf, 'owner2\'s token differs';

# --- refused: 403, nothing changes ---------------------------------------------------------
twilio_reset();
my $state = sub {
    my $row = db_row('SELECT status, cancelled_at FROM appointments WHERE id = ?', $ap->{id});
    return join ' ', $row->{status}, defined $row->{cancelled_at} ? 'cancelled_at' : '-',
        db_count('slot_openings'), db_count('slot_offers'), scalar @{ twilio_messages() };
};
my $before = $state->();
is $before, 'booked - 0 0 0', 'before: booked, no slot opening, no offer, no SMS';
my $wrong = substr($csrf, 0, -1) . (substr($csrf, -1) eq '0' ? '1' : '0');
for my $case ([ 'no csrf field', {} ],
              [ 'an empty csrf', { csrf => '' } ],
              [ 'a wrong csrf (last digit changed)', { csrf => $wrong } ],
              [ 'the token upper-cased', { csrf => uc $csrf } ],
              [ 'the token with more appended', { csrf => $csrf . '00' } ],
              [ 'a long token (over 128 bytes) starting with it', { csrf => $csrf x 3 } ],
              [ 'the first 32 characters only', { csrf => substr($csrf, 0, 32) } ],
              [ "owner2's token", { csrf => $csrf2 } ],
              [ 'a field named differently', { token => $csrf } ]) {
    my ($what, $form) = @$case;
    my $r = post_form(owner1 => "/app/appointments/$ap->{id}/cancel", $form);
    is $r->status, 403, "$what: 403" or diag $r->dump;
    is $state->(), $before, '... nothing changed';
}
{
    my $r = post_form(owner1 => "/app/appointments/$ap->{id}/cancel?csrf=$csrf", {});
    is $r->status, 403, 'the token in the query string only: 403' or diag $r->dump;
    like $r->{html}, qr{did not come from this dashboard}, '... an HTML page saying why';
    is $state->(), $before, '... nothing changed';

    $r = api(POST => "/app/appointments/$ap->{id}/cancel", undef, no_secret => 1, headers => auth('owner1'));
    is $r->status, 403, 'an empty POST: 403' or diag $r->dump;

    $r = page(owner1 => "/app/appointments/$ap->{id}/cancel");
    is $r->status, 405, 'GET .../cancel: 405' or diag $r->dump;
    like $r->header('Allow') // '', qr/POST/, '... Allow: POST';
    is $state->(), $before, '... nothing changed';

    # Someone else's appointment, with this user's own valid token.
    $r = post_form(owner1 => "/app/appointments/$o_appt->{id}/cancel", { csrf => $csrf });
    is $r->status, 404, 'another shop\'s appointment with a valid token: 404' or diag $r->dump;
    is db_row('SELECT status FROM appointments WHERE id = ?', $o_appt->{id})->{status}, 'booked', '... still booked';
    $r = post_form(owner1 => '/app/appointments/987654/cancel', { csrf => $csrf });
    is $r->status, 404, 'an unknown appointment: 404' or diag $r->dump;
    is $state->(), $before, '... nothing changed';
}

# --- the right token: cancelled, slot opened, first offer sent --------------------------------
my $slot;
{
    my $r = post_form(owner1 => "/app/appointments/$ap->{id}/cancel", { csrf => $csrf });
    is $r->status, 303, 'the right token: 303' or diag $r->dump;
    is $r->header('Location'), '/app/appointments', '... back to /app/appointments';
    my $row = db_row('SELECT status, cancelled_at FROM appointments WHERE id = ?', $ap->{id});
    is $row->{status}, 'cancelled', '... the appointment is cancelled';
    ok defined $row->{cancelled_at}, '... cancelled_at set';
    $slot = db_row(q{SELECT *, sr_rfc3339(starts_at) AS s, sr_rfc3339(ends_at) AS e FROM slot_openings
                     WHERE source_appointment_id = ?}, $ap->{id});
    ok $slot, '... a slot opening';
    is "$slot->{status} $slot->{s} $slot->{e}", "open $ap->{startsAt} $ap->{endsAt}", '... open, at the appointment\'s time';
    is $slot->{shop_id}, $shop->{id}, '... in the shop';
    is $slot->{public_url_prefix}, public_base_url(), '... public URL prefix: the base URL (no mount)';
    my $offers = db_rows('SELECT * FROM slot_offers WHERE slot_opening_id = ?', $slot->{id});
    is_deeply [ map { "$_->{customer_id} $_->{status}" } @$offers ], ["$wait->{id} sent"],
        '... the first offer sent at once, to the waitlisted customer';
    my $sms = twilio_messages();
    is scalar(@$sms), 1, '... one SMS';
    is $sms->[0]{form}{To}, '+15557775001', '... to Walt';
    like $sms->[0]{form}{Body}, qr/Reply YES/, '... the offer';
    is $sms->[0]{form}{StatusCallback}, public_base_url() . '/api/twilio/status', '... StatusCallback at /api';

    # The page it redirects to.
    my $p = page(owner1 => '/app/appointments');
    my $pt = tree($p);
    ok !$pt->look_down(_tag => 'form', action => "/app/appointments/$ap->{id}/cancel"),
        'the list no longer offers to cancel it';
    is_deeply [ map { $_->attr('href') } links($pt, qr/^Details$/) ], ["/app/slot-openings/$slot->{id}"],
        '... and lists the new slot opening';
    is badge(($pt->look_down(_tag => 'table', class => 'slots')->look_down(_tag => 'td'))[1]), 'open', '... open';
    $pt->delete;

    # The same as the API: cancel the next one through the API and compare.
    twilio_reset();
    my $api = api(POST => "/api/appointments/$appt[1]{id}/cancel");
    is $api->status, 200, 'the API cancels the next one' or diag $api->dump;
    my $s2 = db_row('SELECT * FROM slot_openings WHERE source_appointment_id = ?', $appt[1]{id});
    is_deeply [ map { { status => $_->{status}, prefix => $_->{public_url_prefix} } } $slot, $s2 ],
        [ map { { status => 'open', prefix => public_base_url() } } 1 .. 2 ], '... the same kind of slot opening';
    is_deeply [ map { $_->{form}{To} } @{ twilio_messages() } ], ['+15557775001'], '... and the same first offer';

    # Again: already cancelled, still 303, nothing new.
    twilio_reset();
    $r = post_form(owner1 => "/app/appointments/$ap->{id}/cancel", { csrf => $csrf });
    is $r->status, 303, 'cancelling it again: 303' or diag $r->dump;
    is db_count('slot_openings WHERE source_appointment_id = ?', $ap->{id}), 1, '... still one slot opening';
    is db_count('slot_offers WHERE slot_opening_id = ?', $slot->{id}), 1, '... still one offer';
    is scalar @{ twilio_messages() }, 0, '... no SMS';

    # owner2's token does not work on owner1's next appointment either.
    $r = post_form(owner1 => "/app/appointments/$appt[2]{id}/cancel", { csrf => $csrf2 });
    is $r->status, 403, 'owner2\'s token on owner1\'s appointment: 403';
    is db_row('SELECT status FROM appointments WHERE id = ?', $appt[2]{id})->{status}, 'booked', '... still booked';
}

# --- mounted ----------------------------------------------------------------------------------
{
    twilio_reset();
    my $t = tree(page(owner1 => '/mounted/app/appointments'));
    my $form = $t->look_down(_tag => 'form', action => "/mounted/app/appointments/$appt[3]{id}/cancel");
    ok $form, 'the mounted list posts to /mounted/app/appointments/{id}/cancel';
    my $tok = $form && $form->look_down(name => 'csrf')->attr('value');
    $t->delete;
    my $r = post_form(owner1 => "/mounted/app/appointments/$appt[3]{id}/cancel", { csrf => $tok });
    is $r->status, 303, 'mounted cancel: 303' or diag $r->dump;
    is $r->header('Location'), '/mounted/app/appointments', '... back to /mounted/app/appointments';
    is db_row('SELECT status FROM appointments WHERE id = ?', $appt[3]{id})->{status}, 'cancelled', '... cancelled';
    my $s = db_row('SELECT * FROM slot_openings WHERE source_appointment_id = ?', $appt[3]{id});
    is $s && $s->{public_url_prefix}, public_base_url() . '/mounted', '... the slot opening remembers the mount';
    my $sms = twilio_messages();
    is scalar(@$sms), 1, '... the first offer went out';
    is $sms->[0]{form}{StatusCallback}, public_base_url() . '/mounted/api/twilio/status',
        '... with its StatusCallback under /mounted';

    $r = post_form(owner1 => "/mounted/app/appointments/$appt[4]{id}/cancel", { csrf => $wrong });
    is $r->status, 403, 'mounted, a wrong token: 403' or diag $r->dump;
    is db_row('SELECT status FROM appointments WHERE id = ?', $appt[4]{id})->{status}, 'booked', '... still booked';
}
