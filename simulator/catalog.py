"""The shop's policies as declarative data: what each rule says, how customers ask about it, how it is answered.

Every fact is an integer drawn, per world, from its ``choices``; templates name facts as ``{fact}``. The
choice sets of one policy never share a value, so an answer rendered with other values can never state the
rule by accident, and each answer names its topic with one of its ``keywords`` so that another intent's
answer never passes for this one (``simulator.facts.states_policy`` relies on both). A few questions carry
the typos and casual forms real customers write. Prices are in yuan in both languages: it is one shop.

``questions`` are the shop's published phrasings: customers ask them, the policy team publishes them with
every rule, and models train on them. ``held_out`` are other phrasings of the same questions that nothing
trains on and customers in the simulation never ask: the offline A/B gate's evaluation set
(``learners.evaluate``), so it measures answers to questions no adapter has seen.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from streams.events import Locale


@dataclass(frozen=True)
class PolicySpec:
    """One policy of the shop, before a world picks its fact values."""

    intent: str
    policy_id: str
    choices: Mapping[str, tuple[int, ...]]
    keywords: Mapping[Locale, tuple[str, ...]]
    text: Mapping[Locale, str]
    answer: Mapping[Locale, str]
    questions: Mapping[Locale, tuple[str, ...]]
    held_out: Mapping[Locale, tuple[str, ...]]
    weight: float = 1.0  # how often customers ask about it, relative to the other policies


def _spec(intent: str, policy_id: str, choices: dict[str, tuple[int, ...]], *, keywords: dict, text: dict,
          answer: dict, questions: dict, held_out: dict, weight: float = 1.0) -> PolicySpec:
    return PolicySpec(intent, policy_id, MappingProxyType(choices), MappingProxyType(keywords),
                      MappingProxyType(text), MappingProxyType(answer), MappingProxyType(questions),
                      MappingProxyType(held_out), weight)


SERVICES: tuple[PolicySpec, ...] = (
    _spec(
        "return_window", "return-window", {"days": (7, 10, 15, 30)}, weight=3.0,
        keywords={"zh": ("退货",), "en": ("return",)},
        text={"zh": "自签收之日起{days}天内，商品完好、不影响二次销售的，可申请无理由退货。",
              "en": "Items in resalable condition can be returned for any reason within {days} days of delivery."},
        answer={"zh": "您好，自签收之日起{days}天内，商品完好不影响二次销售，都可以申请无理由退货。",
                "en": "You can return any item in resalable condition within {days} days of delivery, "
                      "no reason needed."},
        questions={
            "zh": ("买的东西不想要了，能退货吗？", "签收多少天内可以退货？", "退货期限是几天啊", "衣服不合适可以退吗",
                   "七天无理由退货还有效吗？", "收到货好几天了还能退么", "东西拆了包装还能退货吗？"),
            "en": ("Can I return something I don't want anymore?", "How many days do I have to return an item?",
                   "whats ur return policy", "Is it too late to return my order?",
                   "how long is the return window", "can i still send this back? got it last week"),
        },
        held_out={
            "zh": ("退货有时间限制吗？", "包裹签收一周了，还可以申请退货吗", "没用过的东西多少天内能退货", "我想把刚买的裤子退货，还来得及吗", "鞋子尺码不合适，可以退货吗",
                   "退货最晚签收后几天申请"),
            "en": ("Is there a time limit on returns?", "I changed my mind, can I still return my purchase?",
                   "For how long can I return things I bought?", "can i return an unused item i got a few days ago",
                   "What is your return deadline?", "the shirt doesnt fit, can i return it"),
        },
    ),
    _spec(
        "refund_time", "refund-time", {"days": (1, 3, 5, 7)}, weight=2.0,
        keywords={"zh": ("退款",), "en": ("refund",)},
        text={"zh": "仓库收到退回商品并验收后，退款在{days}个工作日内原路退回。",
              "en": "Once the warehouse has received and checked the item, the refund reaches the original "
                    "payment method within {days} working days."},
        answer={"zh": "仓库验收退回的商品后，退款会在{days}个工作日内原路退回到您的支付账户。",
                "en": "After the warehouse checks the item you sent back, your refund goes to the original "
                      "payment method within {days} working days."},
        questions={
            "zh": ("退款多久能到账？", "我的退款怎么还没到", "钱什么时候退回来", "退款要几天啊？",
                   "退款到账时间是多久", "申请退款好几天了还没收到"),
            "en": ("When will I get my refund?", "how long does a refund take", "Still no refund, is that normal?",
                   "when do i get my money back", "How many days until the refund shows up?"),
        },
        held_out={
            "zh": ("退款一般几天到账", "东西寄回去了，退款什么时候给我", "退货以后退款几个工作日到", "退款还要等多久才到账", "钱退到哪里，要几天", "退款为什么还没收到"),
            "en": ("How soon will the refund reach my account?", "i sent it back, when is my refund coming",
                   "How many working days does the refund take?", "my return arrived, how long until the refund",
                   "Where does my refund go and how long does it take?", "refund still not received after a week"),
        },
    ),
    _spec(
        "price_protection", "price-protection", {"days": (7, 15, 30)},
        keywords={"zh": ("价保", "差价"), "en": ("price protection", "price drop")},
        text={"zh": "下单后{days}天内商品降价，可申请价格保护，退还差价。",
              "en": "If an item's price drops within {days} days of purchase, price protection pays back the "
                    "difference."},
        answer={"zh": "下单后{days}天内如果商品降价，您可以申请价保，我们会退还差价。",
                "en": "With price protection, if the price drops within {days} days of your purchase, we pay "
                      "you the difference."},
        questions={
            "zh": ("刚买就降价了，能退差价吗？", "你们有价保吗", "价格保护是多少天", "买完降价了怎么办",
                   "降价了能补差价不", "保价期多长时间？"),
            "en": ("The price dropped right after I bought it, can I get the difference back?",
                   "Do you offer price protection?", "price went down after i ordered, refund the diff?",
                   "How long does price protection last?", "is there a price match if it gets cheaper"),
        },
        held_out={
            "zh": ("下单后降价了可以申请价保吗", "价保能退多少差价", "买贵了，降价的差价能退吗", "你们的价格保护怎么申请", "降价了能不能补偿差价", "价保期有几天"),
            "en": ("Will you pay the difference if the price drops?", "how many days of price protection do i get",
                   "It got cheaper a week after I bought it, do I get the difference?",
                   "does price protection cover a price drop after purchase",
                   "Can I claim the price difference after a discount?", "what is the price protection period"),
        },
    ),
    _spec(
        "shipping_time", "shipping-time", {"dispatch_hours": (24, 48), "delivery_days": (3, 5, 7)}, weight=3.0,
        keywords={"zh": ("送到", "送达"), "en": ("arrive",)},
        text={"zh": "付款后{dispatch_hours}小时内发货，一般{delivery_days}天内送达。",
              "en": "Orders ship within {dispatch_hours} hours of payment and usually arrive within "
                    "{delivery_days} days."},
        answer={"zh": "付款后{dispatch_hours}小时内发货，正常情况下{delivery_days}天内就能送到。",
                "en": "We ship within {dispatch_hours} hours of payment, and your parcel usually arrives within "
                      "{delivery_days} days."},
        questions={
            "zh": ("什么时候发货？", "下单后多久能收到", "我的快递几天能到啊", "怎么还不发货",
                   "发货要多长时间", "今天下单哪天到？", "多久发货呀亲"),
            "en": ("When will my order ship?", "How long does delivery take?", "when will i get my stuff",
                   "Why hasn't my order shipped yet?", "how many days for shipping", "wen does it arrive??"),
        },
        held_out={
            "zh": ("付款后多久发货？", "快递一般几天送到", "订单付款后什么时候能发出", "从发货到收货要几天", "一般多久能收到货", "下单了什么时候寄出"),
            "en": ("how soon does my order ship", "how many days until my parcel arrives",
                   "When does my parcel usually arrive?", "how long before my order is dispatched",
                   "How long will delivery take to my city?", "when does my order get shipped out"),
        },
    ),
    _spec(
        "free_shipping", "free-shipping", {"threshold": (49, 59, 88, 99), "fee": (6, 8, 10)},
        keywords={"zh": ("包邮",), "en": ("free shipping",)},
        text={"zh": "单笔订单满{threshold}元包邮，不满{threshold}元收取运费{fee}元。",
              "en": "Orders of {threshold} yuan or more get free shipping; smaller orders pay a {fee} yuan "
                    "shipping fee."},
        answer={"zh": "单笔订单满{threshold}元就包邮，不满{threshold}元的收{fee}元运费。",
                "en": "Orders of {threshold} yuan or more get free shipping; below that the shipping fee is "
                      "{fee} yuan."},
        questions={
            "zh": ("满多少包邮？", "运费怎么算", "买多少钱才包邮啊", "这单要运费吗",
                   "包邮门槛是多少", "邮费多少钱"),
            "en": ("How much do I need to spend for free shipping?", "what's the shipping fee",
                   "Is shipping free?", "do i have to pay for shipping", "minimum order for free delivery?"),
        },
        held_out={
            "zh": ("多少钱可以包邮啊", "不满包邮要付多少运费", "这个订单包邮吗", "运费是多少，满多少免运费", "满多少钱免邮费", "这么点东西要邮费吗"),
            "en": ("Do I get free shipping on this order?", "how much is the shipping fee on a small order",
                   "What is the minimum spend for free shipping?", "do small orders pay a shipping fee",
                   "How much should I buy to get free delivery?", "is there a shipping charge"),
        },
    ),
    _spec(
        "invoice", "invoice", {"request_days": (30, 90, 180), "issue_hours": (24, 48, 72)},
        keywords={"zh": ("发票",), "en": ("invoice",)},
        text={"zh": "确认收货后{request_days}天内可申请开具电子发票，申请后{issue_hours}小时内开出。",
              "en": "An electronic invoice can be requested within {request_days} days of delivery and is "
                    "issued within {issue_hours} hours."},
        answer={"zh": "确认收货后{request_days}天内都可以申请电子发票，提交后{issue_hours}小时内开出，会发到您的邮箱。",
                "en": "You can request an electronic invoice within {request_days} days of delivery; we issue "
                      "it within {issue_hours} hours and email it to you."},
        questions={
            "zh": ("怎么开发票？", "能开发票吗", "发票多久能开出来", "我要开增值税发票",
                   "买完很久了还能补开发票不", "发漂怎么申请"),
            "en": ("How do I get an invoice?", "Can you send me an invoice for my order?",
                   "how long does the invoice take", "i need a receipt/invoice for work",
                   "Can I still request an invoice for an old order?"),
        },
        held_out={
            "zh": ("可以开电子发票吗？", "发票在哪里申请", "下单后多久能拿到发票", "公司报销需要开发票怎么弄", "电子发票怎么开", "以前的订单可以补开发票吗"),
            "en": ("Can I get an electronic invoice?", "how do i request an invoice",
                   "How long does it take to issue an invoice?", "i need an invoice for an order from last month",
                   "How do I get an invoice for my purchase?", "can i get an invoice emailed to me"),
        },
    ),
    _spec(
        "coupon", "coupon", {"min_spend": (100, 200, 300), "discount": (10, 20, 50), "valid_days": (7, 15, 30)},
        keywords={"zh": ("优惠券", "券"), "en": ("coupon",)},
        text={"zh": "满{min_spend}元减{discount}元优惠券，领取后{valid_days}天内有效，每单限用一张。",
              "en": "The coupon takes {discount} yuan off orders of {min_spend} yuan or more, is valid for "
                    "{valid_days} days after you claim it, one per order."},
        answer={"zh": "这张优惠券满{min_spend}元减{discount}元，领取后{valid_days}天内有效，每单只能用一张哦。",
                "en": "The coupon gives {discount} yuan off orders of {min_spend} yuan or more and is valid for "
                      "{valid_days} days after you claim it; one coupon per order."},
        questions={
            "zh": ("优惠券怎么用？", "为什么我的券用不了", "优惠劵有效期多久", "满多少能用券",
                   "领的优惠券能叠加吗", "券过期了吗"),
            "en": ("How do I use my coupon?", "Why won't my coupon work?", "how long is the coupon valid",
                   "whats the minimum spend for the coupon", "Can I use two coupons on one order?"),
        },
        held_out={
            "zh": ("优惠券什么时候过期", "这张券满多少可以用", "优惠券有效期是几天", "领了券下单怎么不能用", "优惠券满多少减多少", "一个订单能用几张优惠券"),
            "en": ("When does my coupon expire?", "how much do i need to spend to use a coupon",
                   "How many days is a coupon valid for?", "my coupon isnt applying at checkout",
                   "How much does the coupon take off?", "can i stack coupons"),
        },
    ),
    _spec(
        "cancellation", "cancellation", {"unpaid_minutes": (15, 30, 60)}, weight=1.5,
        keywords={"zh": ("取消",), "en": ("cancel",)},
        text={"zh": "未付款订单{unpaid_minutes}分钟后自动取消；已付款订单在发货前可随时取消，全额退款。",
              "en": "Unpaid orders are cancelled automatically after {unpaid_minutes} minutes; paid orders can "
                    "be cancelled for a full refund until they ship."},
        answer={"zh": "订单发货前都可以随时取消，款项全额退回；未付款的订单{unpaid_minutes}分钟后会自动取消。",
                "en": "You can cancel a paid order any time before it ships and get a full refund; unpaid "
                      "orders are cancelled automatically after {unpaid_minutes} minutes."},
        questions={
            "zh": ("订单怎么取消？", "我不想要了，能取消订单吗", "下错单了怎么办", "没付款的订单会自己取消吗",
                   "取消订单钱能退回来吗", "怎么撤销订单啊"),
            "en": ("How do I cancel my order?", "I ordered by mistake, can I cancel?", "cancel my order pls",
                   "What happens to an order I didn't pay for?", "can i still cancel if its been paid"),
        },
        held_out={
            "zh": ("付了款还能取消订单吗", "能帮我取消刚下的订单吗", "下单后不想要了怎么取消", "没付款的订单多久自动取消", "订单能取消吗，还没发货", "取消订单怎么操作"),
            "en": ("Can I cancel an order I already paid for?", "please cancel the order i just placed",
                   "How long before an unpaid order is cancelled?", "i want to cancel, it hasnt shipped yet",
                   "How can I cancel my purchase?", "i placed an order by accident, cancel it"),
        },
    ),
    _spec(
        "address_change", "address-change", {"hours": (1, 2, 12, 24)},
        keywords={"zh": ("地址",), "en": ("address",)},
        text={"zh": "付款后{hours}小时内且订单未发货时，可自助修改收货地址。",
              "en": "The delivery address can be changed within {hours} hours of payment, as long as the order "
                    "has not shipped."},
        answer={"zh": "付款后{hours}小时内、订单还没发货的话，您可以在订单详情里自己修改收货地址。",
                "en": "You can change the delivery address yourself in the order details within {hours} hours "
                      "of payment, as long as the order hasn't shipped."},
        questions={
            "zh": ("收货地址填错了怎么改？", "能改地址吗", "地址写错了咋办", "下单后还能修改收货地址吗",
                   "我搬家了，订单地址要换", "改一下收件地址"),
            "en": ("I entered the wrong address, can I change it?", "How do I update my shipping address?",
                   "wrong adress on my order", "Can I change where my order is delivered?",
                   "i moved, need to change the delivery address"),
        },
        held_out={
            "zh": ("怎么修改订单的收货地址", "付款后还能换地址吗", "收货地址能不能改一下", "订单还没发货，可以改收件地址吗", "地址填错了还能改吗", "我想换个收货地址"),
            "en": ("Can I change the delivery address after paying?", "how do i fix the address on my order",
                   "Is it possible to change my address on an order?", "need to update the address i gave",
                   "How do I change the shipping address?", "can you send it to a different address"),
        },
    ),
    _spec(
        "payment_methods", "payment-methods", {"installments": (3, 6, 12, 24), "cod_limit": (500, 1000, 2000)},
        keywords={"zh": ("分期", "货到付款"), "en": ("instalment", "cash on delivery")},
        text={"zh": "支持支付宝、微信支付、银联卡和货到付款；信用卡最长{installments}期免息分期；货到付款限{cod_limit}元以内订单。",
              "en": "We accept Alipay, WeChat Pay, UnionPay cards and cash on delivery; credit cards get up to "
                    "{installments} interest-free instalments; cash on delivery is for orders up to "
                    "{cod_limit} yuan."},
        answer={"zh": "我们支持支付宝、微信支付、银联卡和货到付款，信用卡最长可享{installments}期免息分期，货到付款限{cod_limit}元以内的订单。",
                "en": "You can pay with Alipay, WeChat Pay, a UnionPay card or cash on delivery; credit cards "
                      "get up to {installments} interest-free instalments, and cash on delivery works for "
                      "orders up to {cod_limit} yuan."},
        questions={
            "zh": ("可以用什么方式付款？", "支持花呗分期吗", "能货到付款吗", "信用卡能分几期",
                   "可以用微信付钱吗", "付款方式有哪些啊"),
            "en": ("What payment methods do you accept?", "Can I pay in instalments?", "do u take cash on delivery",
                   "Can I pay with WeChat?", "how many installments can i split it into"),
        },
        held_out={
            "zh": ("支持哪些付款方式？", "买东西可以分期付款吗", "信用卡分期有利息吗", "能用支付宝付款吗", "可以货到付款吗", "能用银联卡付款吗"),
            "en": ("Which payment methods can I use?", "can i pay cash on delivery",
                   "Do you take Alipay or a UnionPay card?", "is there interest-free instalment on credit cards",
                   "Can I pay with a credit card in instalments?", "what ways can i pay"),
        },
    ),
    _spec(
        "warranty_repair", "warranty-repair", {"months": (12, 24, 36), "repair_days": (7, 10, 15)},
        keywords={"zh": ("保修",), "en": ("warranty",)},
        text={"zh": "电器类商品全国联保{months}个月，保修期内免费维修，维修周期{repair_days}个工作日。",
              "en": "Electronics carry a {months}-month nationwide warranty with free repair; repairs take "
                    "{repair_days} working days."},
        answer={"zh": "电器类商品享受{months}个月全国联保，保修期内免费维修，一般{repair_days}个工作日修好寄回。",
                "en": "Electronics come with a {months}-month nationwide warranty; repairs under warranty are "
                      "free and take {repair_days} working days."},
        questions={
            "zh": ("保修多久？", "东西坏了怎么保修", "质保期是多长时间", "坏了能免费修吗",
                   "维修要多少天", "耳机不响了可以保修么"),
            "en": ("How long is the warranty?", "My device broke, is it covered?", "warranty period?",
                   "how long does a repair take", "can you fix it for free, its still new"),
        },
        held_out={
            "zh": ("这个有保修吗", "保修期内维修收费吗", "电子产品保修几个月", "保修的东西送修要几天", "保修期多长", "东西坏了能免费维修吗"),
            "en": ("Is there a warranty on this?", "how long is the warranty on electronics",
                   "How many months of warranty do electronics get?", "how many days does a warranty repair take",
                   "Is the repair free under warranty?", "my headphones broke, is there a warranty"),
        },
    ),
    _spec(
        "product_authenticity", "product-authenticity", {"compensation": (3, 4, 10)},
        keywords={"zh": ("正品",), "en": ("genuine",)},
        text={"zh": "平台所售商品均为品牌授权正品，如经鉴定为假货，按商品价格的{compensation}倍赔偿。",
              "en": "Everything we sell is genuine, brand-authorised stock; an item proven counterfeit is "
                    "compensated at {compensation} times its price."},
        answer={"zh": "我们所有商品都是品牌授权的正品，如果鉴定为假货，按商品价格的{compensation}倍赔偿您。",
                "en": "All our products are genuine, brand-authorised stock; if an item is ever proven "
                      "counterfeit, we compensate you {compensation} times its price."},
        questions={
            "zh": ("这个是正品吗？", "你们卖的是不是真货", "怎么保证不是假货", "买到假的怎么赔",
                   "是官方正品吗亲", "有没有防伪查询"),
            "en": ("Is this product authentic?", "Are your products genuine?", "how do i know its not fake",
                   "What if I receive a counterfeit?", "r these real or knockoffs"),
        },
        held_out={
            "zh": ("你们的商品都是正品吗", "收到假货怎么赔偿", "怎么知道是不是正品", "万一买到假的能赔多少", "卖的是正品吗", "假一赔几"),
            "en": ("Is everything you sell genuine?", "what if the item turns out to be fake",
                   "How can I be sure the product is genuine?", "what compensation if it is counterfeit",
                   "Are these items authentic?", "is this a genuine brand product"),
        },
    ),
    _spec(
        "account_security", "account-security", {"attempts": (5, 10), "lock_minutes": (15, 30, 60)},
        keywords={"zh": ("密码",), "en": ("password",)},
        text={"zh": "连续{attempts}次输错密码，账号将锁定{lock_minutes}分钟；可通过短信验证码重置密码。",
              "en": "After {attempts} wrong passwords in a row the account is locked for {lock_minutes} "
                    "minutes; the password can be reset with a text-message code."},
        answer={"zh": "连续输错{attempts}次密码账号会被锁定{lock_minutes}分钟，您也可以用短信验证码直接重置密码。",
                "en": "After {attempts} wrong passwords in a row your account is locked for {lock_minutes} "
                      "minutes; you can also reset the password with a text-message code."},
        questions={
            "zh": ("账号被锁了怎么办？", "密码忘了怎么登录", "登不上去了", "为什么我的账户登录不了",
                   "怎么重置密码", "账号锁定多久能解开"),
            "en": ("My account is locked, what do I do?", "I forgot my password", "cant log in",
                   "How do I reset my password?", "how long until my account unlocks"),
        },
        held_out={
            "zh": ("密码输错好几次账号被锁了", "忘记密码了怎么找回", "密码错了几次会锁账号", "账号锁定了要等多久", "怎么修改密码", "账号登录不上怎么办"),
            "en": ("My account got locked after too many wrong passwords", "how can i reset a forgotten password",
                   "How many wrong passwords before the account locks?", "locked out of my account, how long",
                   "I can't remember my password", "why is my account locked"),
        },
    ),
)
"""The policies in force in every new world."""

NEW_SERVICES: tuple[PolicySpec, ...] = (
    _spec(
        "trade_in", "trade-in", {"max_credit": (200, 300, 500), "pickup_days": (3, 5, 7)},
        keywords={"zh": ("以旧换新", "旧机"), "en": ("trade-in", "trade in")},
        text={"zh": "以旧换新：旧手机、旧家电上门回收，最高抵扣{max_credit}元，下单后{pickup_days}天内上门取件。",
              "en": "Trade-in: we collect your old phone or appliance and credit up to {max_credit} yuan "
                    "towards a new one; pickup within {pickup_days} days of ordering."},
        answer={"zh": "现在可以以旧换新啦：旧手机、旧家电上门回收，最高抵扣{max_credit}元，下单后{pickup_days}天内上门取件。",
                "en": "Our new trade-in programme collects your old phone or appliance and credits up to "
                      "{max_credit} yuan towards a new one; we pick it up within {pickup_days} days of your "
                      "order."},
        questions={
            "zh": ("你们有以旧换新吗？", "旧手机能抵钱吗", "以旧换新最多能抵多少", "旧家电怎么回收",
                   "以旧换新要自己寄过去吗", "听说可以拿旧机换新的？"),
            "en": ("Do you have a trade-in programme?", "Can I trade in my old phone?",
                   "how much credit for my old phone", "do you pick up the old device for trade in?",
                   "heard u do trade ins now, how does it work"),
        },
        held_out={
            "zh": ("旧手机可以以旧换新吗", "以旧换新会上门取旧机吗", "以旧换新能抵多少钱", "旧家电可以以旧换新吗", "以旧换新怎么参加", "旧手机以旧换新多久上门"),
            "en": ("How does your trade-in programme work?", "can i trade in my old fridge",
                   "How much can I get for trading in my old phone?", "does the trade-in include pickup",
                   "Can I trade in my old appliance?", "how does trade in pickup work"),
        },
    ),
)
"""Services a policy change can launch; customers start asking about them once they exist."""


def held_out_questions() -> frozenset[str]:
    """Every held-out phrasing of every policy, both languages: what no training snapshot may hold."""
    return frozenset(q for spec in SERVICES + NEW_SERVICES for by_locale in spec.held_out.values() for q in by_locale)


def spec_for(intent: str) -> PolicySpec:
    """The spec of ``intent``, in force from the start or launchable."""
    for spec in SERVICES + NEW_SERVICES:
        if spec.intent == intent:
            return spec
    raise KeyError(f"no policy for intent {intent!r}")
