-- Each customer with their orders that were not cancelled, as of the run date.
select
    c.id as customer_id,
    c.first_name,
    count(o.order_id) as orders,
    coalesce(sum(o.amount), 0) as total_amount,
    cast('{{ var("run_date") }}' as date) as as_of
from {{ source('loaded', 'customers') }} as c
left join {{ source('loaded', 'orders') }} as o
    on o.customer_id = c.id and o.status <> 'cancelled'
group by c.id, c.first_name
